import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("accounts:login")


def _log_in(client, username: str, password: str, **extra):
    return client.post(URL, {"username": username, "password": password, **extra})


def test_it_logs_in_with_the_right_password(client, owner, password):
    response = _log_in(client, "owner", password)

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_it_returns_to_next_after_logging_in(client, owner, password):
    response = _log_in(client, "owner", password, next="/accounts/profile/")

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"


def test_it_refuses_a_wrong_password_with_a_form_error(client, owner):
    response = _log_in(client, "owner", "wrong")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_it_locks_out_after_five_failures_even_with_the_right_password(client, owner, password):
    for _ in range(5):
        _log_in(client, "owner", "wrong")

    response = _log_in(client, "owner", password)

    assert response.status_code == 429
    text = " ".join(response.content.decode().split())
    assert "Too many failed login attempts." in text
    assert "blocked for 15 minutes" in text
    assert "_auth_user_id" not in client.session


def test_it_still_accepts_after_four_failures(client, owner, password):
    for _ in range(4):
        _log_in(client, "owner", "wrong")

    response = _log_in(client, "owner", password)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_it_does_not_lock_out_other_users_from_the_same_address(client, owner, other, password):
    for _ in range(5):
        _log_in(client, "owner", "wrong")

    response = _log_in(client, "other", password)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_it_sends_a_logged_in_user_on(owner_client):
    response = owner_client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_the_login_page_says_which_page_needs_it(client):
    response = client.get(reverse("recognition:draw"), follow=True)

    assert "Please log in to use Draw." in response.content.decode()


def test_the_login_page_says_nothing_of_the_kind_without_next(client):
    assert 'data-testid="login-needed"' not in client.get(URL).content.decode()


def test_logging_out_says_so(owner_client):
    response = owner_client.post(reverse("accounts:logout"), follow=True)

    assert "You have been logged out." in response.content.decode()
