"""What the browser tests share: Debian's chromium driven by Playwright, pages at desktop
and phone sizes, a live server that runs inference in its own threads (no broker), as
`make run` does, logging in through the real form, and drawing with the mouse."""
import os
import re
from contextlib import contextmanager

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The page waits 3 s on the server, then polls for up to 30 s; the first prediction of a
# session also loads TensorFlow and the model.
RESULT_TIMEOUT_MS = 40_000

# Strokes as fractions of the canvas (x, y), each a polyline drawn with the mouse held down.
# Plain block shapes that this model reads with ~100% confidence in both modes; a "1" with
# a flag is avoided, since the model may read it as a 7.
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
SEVENTEEN = [[(0.1, 0.15), (0.1, 0.85)], [(0.25, 0.2), (0.38, 0.2), (0.3, 0.85)]]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"The browser tests need Debian's chromium at {CHROMIUM}. Install it with "
                    "`apt-get install -y chromium` (`make test` does this).", pytrace=False)
    # Playwright's sync API keeps an asyncio loop running in this thread while the browser
    # is open, and Django then refuses ORM calls from this thread as if they were in async
    # code. Nothing here is async: let the tests (and any that run meanwhile) use the ORM.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def in_process_inference(settings, in_process_transport):
    """The live server runs inference in its own threads, as `make run` does (no broker).

    With persistent connections those threads would keep sessions open on the test
    database, which then cannot be dropped at the end of the run, so each closes its
    connection when its work is done; and they, with the stale-pending sweeper, are stopped
    after each test.
    """
    database = settings.DATABASES["default"]  # the dict each new thread's connection reads
    max_age = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 0
    # The model is loaded before the first drawing, as `make run` loads it when it starts:
    # a live answer must not wait for TensorFlow to import. Throttle counts start afresh.
    in_process_transport.warm_up().result()
    cache.clear()
    yield
    in_process_transport.shutdown()
    database["CONN_MAX_AGE"] = max_age


@contextmanager
def fresh_page(browser, **device):
    """A page in a fresh browser context (no cookies); fails the test on any uncaught
    JavaScript error."""
    context = browser.new_context(**device)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    if errors:
        pytest.fail(f"JavaScript errors on the page: {errors}")


@pytest.fixture
def page(browser):
    """At a desktop size, with a mouse."""
    with fresh_page(browser, viewport={"width": 1280, "height": 900}) as page:
        yield page


@pytest.fixture
def phone(browser):
    """On a phone: a small touch screen."""
    with fresh_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        yield page


@pytest.fixture
def user(django_user_model, password):
    return django_user_model.objects.create_user("drawer", "drawer@example.com", password)


def log_in_at(page: Page, url: str, user, password: str) -> None:
    """Open a page that needs login, log in through the real form, and land back on it."""
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(url)
    page.wait_for_load_state()  # the page's script is running: its listeners are attached


def draw(page: Page, strokes, testid: str = "draw-canvas") -> None:
    box = page.get_by_test_id(testid).bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=10)
        page.mouse.up()
