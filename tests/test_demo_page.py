"""The demo's chat page in a real headless browser (Debian's chromium, through its
chromedriver): a whole report with a photo uploaded from disk and buttons pressed, /lang,
the same person on WeCom, then "run pushes now" and the countdown in the city group's view.

The browser is never downloaded: `make test` installs chromium and chromium-driver as root
on Debian (tests/browser.sh); where they cannot be had, this test is skipped in one line.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sandbox.demo.pictures import site_photo
from bot.sandbox.demo.seed import WEEKS_TO_CLOSE
from tests.demo_thread import DemoThread
from tests.timeline import today

pytestmark = [pytest.mark.e2e]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WAIT = 15.0
SITE = "大连某化工有限公司 <b>A&B</b><img src=x>"

if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "no chromium and chromedriver (make test installs them as root on Debian): "
        "the demo page's browser test is skipped",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,860",
        "--lang=zh-CN",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The demo page as a person uses it: click, type, wait for the bot."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    def until(self, found: Callable[[], object], what: str) -> object:
        return WebDriverWait(self.driver, WAIT, poll_frequency=0.1).until(
            lambda _driver: found(), message=what
        )

    def element(self, css: str) -> WebElement:
        """The last element matching css, once there is one."""
        self.until(lambda: self.driver.find_elements(By.CSS_SELECTOR, css), css)
        return self.driver.find_elements(By.CSS_SELECTOR, css)[-1]

    def click(self, css: str) -> None:
        """Click the last element matching css (found again if the chat was redrawn meanwhile:
        the page redraws a chat when the bot edits or sends something)."""

        def clicked() -> bool:
            try:
                self.element(css).click()
            except StaleElementReferenceException:
                return False
            return True

        self.until(clicked, f"a click on {css}")

    def bot_messages(self) -> int:
        return len(self.driver.find_elements(By.CSS_SELECTOR, "#messages .msg:not(.me)"))

    def answered(self, act: Callable[[], None]) -> None:
        """Do something and wait until the bot has sent a new message in the chat shown."""
        before = self.bot_messages()
        act()
        self.until(lambda: self.bot_messages() > before, "an answer from the bot")

    def type(self, text: str) -> None:
        self.answered(lambda: self._type(text))

    def _type(self, text: str) -> None:
        box = self.driver.find_element(By.ID, "text")
        box.clear()
        box.send_keys(text)
        self.driver.find_element(By.ID, "send").click()

    def press(self, css: str) -> None:
        self.answered(lambda: self.click(css))

    def text(self) -> str:
        return self.driver.find_element(By.ID, "messages").text


def test_a_report_with_a_photo_then_the_countdown_in_the_group(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    photo = tmp_path / "site.jpg"
    photo.write_bytes(site_photo(42, "demo test"))
    page = Page(browser)
    with DemoThread(tmp_path / "demo") as url:
        browser.get(url)
        page.element("[data-person=inspector].on")
        page.element("[data-chat=private].on")
        page.type("/report")
        page.press("button.inline-btn[data-data*=':task:']")
        page.type(SITE)
        page.press("button.inline-btn[data-data*=':field:']")
        page.type("储罐区防火堤破损，未及时修复")
        page.answered(lambda: browser.find_element(By.ID, "photo-input").send_keys(str(photo)))
        page.element("#messages .msg.me img.photo")  # the photo as the inspector sent it
        page.press("button.inline-btn[data-data$=':done']")
        page.click(".reply-btn[data-location='1']")
        page.press("#location-send")
        page.press("button.inline-btn[data-data$=':level:general']")
        page.press("button.inline-btn[data-data$=':days:7']")
        page.press("button.inline-btn[data-data$=':submit']")
        page.until(lambda: re.search(r"DL-\d{4}-000008", page.text()), "the report's number")
        # What the inspector typed is shown as typed, never read as HTML by the page.
        assert SITE in page.text()
        assert not browser.find_elements(By.CSS_SELECTOR, "#messages img[src='x']")

        # /lang: the bot and the page's own labels speak English from now on.
        page.type("/lang")
        page.press("button.inline-btn[data-data='lang:en']")
        page.until(lambda: "Run pushes now" in browser.find_element(By.ID, "push-now").text, "en")

        # The same person on WeCom: the application's answer, its buttons on a card.
        page.click("[data-chat=wecom]")
        page.element("[data-chat=wecom].on")
        page.type("/mine")
        page.element(".card .buttons button[data-key]")

        page.click("#push-now")
        page.until(lambda: "countdown 2" in browser.find_element(By.ID, "toast").text, "queued")
        page.click("[data-person=city]")
        page.element("[data-person=city].on")
        page.click("[data-chat=city-group]")
        closing = (today() + timedelta(weeks=WEEKS_TO_CLOSE)).isoformat()
        page.until(lambda: closing in page.text(), "the countdown in the city group")
        card = page.element("#messages img")  # the countdown card, the last picture there
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
        shot = tmp_path / "demo-page.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
