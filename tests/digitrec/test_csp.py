"""A Content-Security-Policy on every page: scripts only from this site's files, no inline
script, so markup that slips into a page cannot run."""
import os
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

CHROMIUM = "/usr/bin/chromium"
# A <script> that runs (not a JSON data block) without a src, or an on...= handler attribute.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def test_pages_send_a_policy_without_inline_script(client):
    directives = _directives(client.get(reverse("home")))

    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("name", [
    "home", "about", "contact", "accounts:login", "accounts:register", "accounts:password_reset",
    "accounts:profile", "recognition:draw", "recognition:upload", "recognition:history",
    "api-docs", "admin:login",
])
def test_pages_hold_no_inline_script(client, owner, name):
    if name not in ("accounts:login", "accounts:register", "accounts:password_reset"):
        client.force_login(owner)  # those pages send a signed-in user away

    response = client.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert INLINE_SCRIPT.findall(html) == [] and HANDLER_ATTRIBUTE.findall(html) == []
    assert "Content-Security-Policy" in response.headers


def test_the_api_docs_load_their_script_from_a_file(client):
    html = client.get(reverse("api-docs")).content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)

    answers = [client.get(src) for src in sources]

    # Swagger UI's two files, drf-spectacular's start-up script, the JavaScript catalog (the
    # page's language) and ours (token, link back).
    assert len(sources) == 5 and [a.status_code for a in answers] == [200] * 5
    assert "SwaggerUIBundle" in answers[2].content.decode()
    assert "gettext" in answers[3].content.decode()
    ours = answers[4]
    assert "preauthorizeApiKey" in (b"".join(ours.streaming_content) if ours.streaming else ours.content).decode()


@pytest.mark.django_db(transaction=True)
def test_the_pages_and_the_api_docs_run_under_the_policy_in_a_browser(live_server, owner, password,
                                                                     monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"This test needs Debian's chromium at {CHROMIUM} (`make test` installs it).",
                    pytrace=False)
    # Playwright's sync API runs an asyncio loop in this thread; nothing here is async.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        violations = []
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)

        page.goto(f"{live_server.url}/api/v1/docs/")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("DigitRec API")
        expect(page.locator(".opblock").first).to_be_visible()

        page.goto(f"{live_server.url}/accounts/login/?next=/draw/")
        page.fill("#id_username", "owner")
        page.fill("#id_password", password)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("draw-canvas")).to_be_visible()
        for path in ("/upload/", "/history/", "/accounts/profile/"):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("load")
        browser.close()

    assert violations == []
