#!/usr/bin/env bash
# Make sure the PostgreSQL the tests use is there: 127.0.0.1:5432, user postgres, database
# "test" (or HDBOT_TEST_PG_URL's server). Starts a stopped Debian cluster, and as root on a
# Debian machine without one installs it (trusting local connections, as a test server may).
# Where none can be had it says so in one line; the [postgresql] tests are then skipped.
set -u
HOST=127.0.0.1
PORT=5432

ready() { command -v pg_isready >/dev/null && pg_isready -h "$HOST" -p "$PORT" -q; }

if [ -n "${HDBOT_TEST_PG_URL:-}" ]; then
    exit 0  # another server, looked after by whoever named it
fi
if ! ready && [ "$(id -u)" = 0 ]; then
    if ! command -v pg_ctlcluster >/dev/null && command -v apt-get >/dev/null; then
        echo "installing PostgreSQL for the tests (apt-get install postgresql)"
        (apt-get install -y -q postgresql >/dev/null 2>&1 ||
            (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1))
        for hba in /etc/postgresql/*/main/pg_hba.conf; do
            [ -f "$hba" ] && sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
        done
    fi
    if command -v pg_ctlcluster >/dev/null; then
        version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
        if [ -n "$version" ]; then
            pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
            for _ in $(seq 30); do ready && break; sleep 1; done
        fi
    fi
fi
if ! ready; then
    echo "NOTE: no PostgreSQL at $HOST:$PORT: every [postgresql] test will be skipped"
    exit 0
fi
if ! psql -h "$HOST" -p "$PORT" -U postgres -Atc "select 1 from pg_database where datname = 'test'" 2>/dev/null | grep -q 1; then
    createdb -h "$HOST" -p "$PORT" -U postgres test 2>/dev/null ||
        echo "NOTE: could not create the database \"test\" on $HOST:$PORT"
fi
exit 0
