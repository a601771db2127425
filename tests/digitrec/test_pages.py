import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

WITH_RECOGNITION = pytest.mark.urls("tests.digitrec.urls")
WITHOUT_RECOGNITION = pytest.mark.urls("tests.digitrec.urls_bare")


def _text(response) -> str:
    """The page with runs of whitespace collapsed, as a reader sees it."""
    return " ".join(response.content.decode().split())


def test_it_renders_the_home_page_with_the_guide_and_the_limits(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    text = _text(response)
    for step in ("1. Draw", "2. Upload", "3. History", "4. API"):
        assert step in text
    assert "digits <strong>0&ndash;9</strong> only" in text
    assert "<strong>One line</strong> of digits" in text
    assert "letters" in text
    assert "&ldquo;no digit found&rdquo;" in text


def test_it_renders_the_about_page(client):
    response = client.get(reverse("about"))

    assert response.status_code == 200
    assert "About DigitRec" in response.content.decode()


def test_it_renders_the_contact_page_with_the_configured_address(client, settings):
    settings.CONTACT_EMAIL = "help@digitrec.example"

    response = client.get(reverse("contact"))

    assert response.status_code == 200
    assert 'href="mailto:help@digitrec.example"' in response.content.decode()


def test_it_offers_login_and_register_to_anonymous_visitors(client):
    html = client.get(reverse("home")).content.decode()

    assert 'data-testid="nav-login"' in html
    assert 'data-testid="nav-register"' in html
    assert 'data-testid="logout"' not in html


def test_it_shows_the_account_menu_with_a_post_logout_to_a_user(owner_client):
    html = owner_client.get(reverse("home")).content.decode()

    assert 'data-testid="account-menu">owner<' in html
    logout_form = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', html, re.S)
    assert 'name="csrfmiddlewaretoken"' in logout_form[1]
    assert 'data-testid="nav-login"' not in html


def test_it_shows_the_admin_link_to_staff(staff_client):
    html = staff_client.get(reverse("home")).content.decode()

    assert 'href="/admin/" data-testid="nav-admin"' in html


def test_it_hides_the_admin_link_from_other_users(owner_client):
    assert 'data-testid="nav-admin"' not in owner_client.get(reverse("home")).content.decode()


@WITHOUT_RECOGNITION
def test_it_hides_links_to_routes_that_do_not_exist(client):
    html = client.get(reverse("home")).content.decode()

    for testid in ("nav-draw", "nav-upload", "nav-history", "nav-api-docs"):
        assert f'data-testid="{testid}"' not in html


@WITH_RECOGNITION
def test_it_links_recognition_pages_and_api_docs_once_their_routes_exist(client):
    html = client.get(reverse("home")).content.decode()

    assert 'href="/stand-in/draw/" data-testid="nav-draw"' in html
    assert 'href="/stand-in/upload/" data-testid="nav-upload"' in html
    assert 'href="/stand-in/history/" data-testid="nav-history"' in html
    assert 'href="/api/v1/docs/" data-testid="nav-api-docs"' in html


@WITH_RECOGNITION
def test_it_marks_the_current_page_in_the_navbar(client):
    html = client.get(reverse("recognition:upload")).content.decode()

    current = 'class="nav-link active" href="/stand-in/upload/" data-testid="nav-upload"'
    assert f'{current} aria-current="page"' in html
    assert 'class="nav-link" href="/stand-in/draw/"' in html


def test_it_logs_out_only_by_post(owner_client, owner):
    assert owner_client.get(reverse("accounts:logout")).status_code == 405
    assert owner_client.session["_auth_user_id"] == str(owner.pk)

    response = owner_client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert "_auth_user_id" not in owner_client.session


def test_it_refuses_a_logout_without_a_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_it_sends_anonymous_visitors_to_log_in_and_back(client, owner, password):
    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/profile/"

    login_page = client.get(response.url)
    assert 'name="next" value="/accounts/profile/"' in login_page.content.decode()
    response = client.post(
        reverse("accounts:login"),
        {"username": "owner", "password": password, "next": "/accounts/profile/"},
    )
    assert response.url == "/accounts/profile/"


def test_it_answers_an_unknown_address_with_the_friendly_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert 'data-testid="error-404"' in response.content.decode()


@WITH_RECOGNITION
def test_it_answers_a_crash_with_the_500_page_and_no_details():
    client = Client(raise_request_exception=False)

    response = client.get("/broken/")

    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-testid="error-500"' in html
    assert "Traceback" not in html
    assert "secret internals" not in html


def test_it_loads_every_stylesheet_and_script_from_this_site(client):
    html = client.get(reverse("home")).content.decode()
    assets = re.findall(r'<(?:link|script)[^>]+(?:href|src)="([^"]+)"', html)

    assert "/static/vendor/bootstrap/bootstrap.min.css" in assets
    assert "/static/vendor/bootstrap/bootstrap.bundle.min.js" in assets
    for asset in assets:
        assert asset.startswith("/static/") or asset == reverse("javascript-catalog"), asset
        assert client.get(asset).status_code == 200, asset


def test_the_about_page_says_what_make_run_uses_and_what_make_stack_adds(client):
    text = _text(client.get(reverse("about")))

    assert "Celery, PostgreSQL, Redis" not in text
    assert "<code>make run</code>, it needs nothing else" in text and "SQLite" in text
    assert "<code>make stack</code> is the production set-up: PostgreSQL" in text


def test_favicon_ico_answers_with_the_site_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200


def test_anonymous_visitors_get_the_try_it_canvas_and_signed_in_users_do_not(client, owner_client):
    assert 'data-testid="try-canvas"' in client.get(reverse("home")).content.decode()
    assert 'data-testid="try-canvas"' not in owner_client.get(reverse("home")).content.decode()


def test_the_api_docs_page_links_back_to_the_site(client):
    html = client.get(reverse("api-docs")).content.decode()

    assert 'data-testid="docs-home"' in html and f'href="{reverse("home")}"' in html
