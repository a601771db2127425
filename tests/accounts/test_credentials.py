"""Credential fields are bounded (150 characters for a username, as Django's user model),
so an oversized value is a validation error, never a database error or a false outage."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LONG_NAME = "u" * 256
LONG_PASSWORD = "p" * 5000
# Valid in form (labels of 60), and under the 320 of Django's EmailField, over the 254 of the column.
LONG_EMAIL = "a@" + ".".join(["b" * 60] * 5) + ".com"


@pytest.mark.parametrize("payload, field", [
    ({"username": LONG_NAME, "password": "whatever"}, "username"),
    ({"username": "owner", "password": LONG_PASSWORD}, "password"),
])
def test_it_answers_an_oversized_credential_on_the_token_endpoint_with_400(owner, caplog, payload, field):
    response = APIClient().post("/api/v1/auth/token/", payload, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("payload, field", [
    ({"username": LONG_NAME, "password": "correct-Horse-battery-9"}, "username"),
    ({"username": "ada", "password": LONG_PASSWORD}, "password"),
    ({"username": "ada", "password": "correct-Horse-battery-9", "email": LONG_EMAIL}, "email"),
])
def test_it_answers_an_oversized_credential_on_sign_up_with_400(payload, field):
    response = APIClient().post("/api/v1/auth/register/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_it_answers_an_oversized_username_on_the_login_page_with_a_form_error(client, caplog):
    response = client.post(reverse("accounts:login"), {"username": LONG_NAME, "password": "x"})

    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("name, form", [
    ("accounts:login", {"username": "owner", "password": LONG_PASSWORD}),
    ("accounts:register", {"username": "ada", "password1": LONG_PASSWORD, "password2": LONG_PASSWORD}),
])
def test_it_answers_an_oversized_password_on_a_page_with_a_form_error(client, owner, name, form):
    response = client.post(reverse(name), form)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any("at most 4096 characters" in m for messages in errors.values() for m in messages)


def test_it_answers_an_oversized_new_password_on_password_change_with_a_form_error(client, owner, password):
    client.force_login(owner)

    response = client.post(reverse("accounts:password_change"), {
        "old_password": password, "new_password1": LONG_PASSWORD, "new_password2": LONG_PASSWORD})

    assert response.status_code == 200
    assert "new_password1" in response.context["form"].errors
    owner.refresh_from_db()
    assert owner.check_password(password)
