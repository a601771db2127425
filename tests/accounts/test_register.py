import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("accounts:register")
STRONG = "plum-Orbit-47-lantern"


def _form(**overrides) -> dict:
    form = {"username": "newbie", "email": "", "password1": STRONG, "password2": STRONG}
    return {**form, **overrides}


def test_it_creates_the_user_and_logs_them_in(client):
    response = client.post(URL, _form(email="newbie@example.com"))

    assert response.status_code == 302
    assert response.url == reverse("home")
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert user.check_password(STRONG)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_it_accepts_a_registration_without_email(client):
    response = client.post(URL, _form())

    assert response.status_code == 302
    assert get_user_model().objects.get(username="newbie").email == ""


def test_it_redirects_to_next_after_registering(client):
    response = client.post(URL, _form(next="/accounts/profile/"))

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"


def test_it_ignores_a_next_pointing_to_another_site(client):
    response = client.post(URL, _form(next="https://evil.example.com/"))

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_it_rejects_a_taken_username_as_a_form_error(client, owner):
    response = client.post(URL, _form(username="OWNER"))

    assert response.status_code == 200
    errors = response.context["form"].errors["username"]
    assert "A user with that username already exists." in errors
    assert get_user_model().objects.count() == 1
    assert "_auth_user_id" not in client.session


def test_it_rejects_a_weak_password_as_a_form_error(client):
    response = client.post(URL, _form(password1="12345678", password2="12345678"))

    assert response.status_code == 200
    errors = response.context["form"].errors["password2"]
    assert "This password is too common." in errors
    assert "This password is entirely numeric." in errors
    assert not get_user_model().objects.exists()


def test_it_rejects_mismatched_passwords(client):
    response = client.post(URL, _form(password2=STRONG + "x"))

    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not get_user_model().objects.exists()


def test_it_shows_the_form_with_csrf_protection(client):
    response = client.get(URL)

    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_it_sends_a_logged_in_user_home(owner_client):
    response = owner_client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("home")



def test_it_rejects_an_email_already_in_use_whatever_its_case(client, owner):
    response = client.post(URL, _form(email="OWNER@example.com"))

    assert response.status_code == 200
    assert "A user with that email address already exists." in response.context["form"].errors["email"]
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_it_accepts_several_accounts_without_email(client, django_user_model):
    django_user_model.objects.create_user("first", "", "x")

    response = client.post(URL, _form())

    assert response.status_code == 302
    assert get_user_model().objects.get(username="newbie").email == ""
