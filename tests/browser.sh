#!/usr/bin/env bash
# The demo page's browser test drives Debian's chromium with its chromedriver (never a browser
# downloaded from the internet): make sure both are there, installing them as root with apt-get
# when we may. Where they cannot be had, one line says so and that test is skipped.
set -u
# An emoji font too: the bot's messages carry emoji, and a screenshot should show them.
if command -v chromium >/dev/null && command -v chromedriver >/dev/null &&
    { ! command -v fc-list >/dev/null || fc-list | grep -qi emoji; }; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver (the demo page's browser test)"
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y -q chromium chromium-driver fonts-noto-color-emoji >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver fonts-noto-color-emoji >/dev/null 2>&1; }; then
        exit 0
    fi
    echo "warning: could not install chromium; the demo page's browser test will be skipped"
else
    echo "warning: no chromium and chromedriver; the demo page's browser test will be skipped (apt-get install chromium chromium-driver)"
fi
exit 0
