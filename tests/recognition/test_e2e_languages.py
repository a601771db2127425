"""The languages in a real browser: the scripts' own words come from the JavaScript catalog
(loaded as a file, under the CSP), and the switcher on the page changes the language."""
import re

import pytest
from playwright.sync_api import expect

from accounts.services import profile_language
from tests.recognition.browser import (  # noqa: F401 - in_process_inference, user are fixtures
    RESULT_TIMEOUT_MS, SEVEN, fresh_page, draw, in_process_inference, log_in_at, user)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tamil_page(browser):
    """A desktop page whose browser asks for Tamil; fails the test on any JavaScript error."""
    with fresh_page(browser, locale="ta", viewport={"width": 1280, "height": 900}) as page:
        yield page


def test_the_live_answer_speaks_the_pages_language(live_server, tamil_page):
    tamil_page.goto(live_server.url + "/")
    expect(tamil_page.locator("html")).to_have_attribute("lang", "ta")

    draw(tamil_page, SEVEN, testid="try-canvas")

    result = tamil_page.get_by_test_id("try-result")
    expect(result.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)
    expect(result).to_contain_text("உறுதி")  # "Confidence", from the JavaScript catalog
    expect(result.get_by_test_id("result-note")).to_have_text("சேமிக்கப்படவில்லை.")
    expect(result.get_by_test_id("result-confidence")).to_have_text(re.compile(r"^[0-9.]+%$"))


def test_the_switcher_changes_the_language_and_the_profile_keeps_it(live_server, tamil_page, user, password):
    log_in_at(tamil_page, live_server.url + "/draw/", user, password)
    expect(tamil_page.get_by_test_id("recognize")).to_have_text("அடையாளம் காண்")

    tamil_page.get_by_test_id("language-select").select_option("hi")
    tamil_page.get_by_test_id("language-submit").click()

    expect(tamil_page).to_have_url(live_server.url + "/draw/")
    expect(tamil_page.locator("html")).to_have_attribute("lang", "hi")
    expect(tamil_page.get_by_test_id("recognize")).to_have_text("पहचानें")
    assert profile_language(user=user) == "hi"
