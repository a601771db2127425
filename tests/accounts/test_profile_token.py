import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from accounts.services import token_rotate

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
ROTATE = reverse("accounts:token_rotate")


def _authenticates(key: str):
    """The user an API request with this token would act as."""
    user, _ = TokenAuthentication().authenticate_credentials(key)
    return user


def test_it_redirects_anonymous_to_login_and_back(client):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={PROFILE}"


def test_it_creates_the_token_on_first_visit_and_shows_it(owner_client, owner):
    response = owner_client.get(PROFILE)

    assert response.status_code == 200
    token = Token.objects.get(user=owner)
    assert token.key in response.content.decode()
    assert _authenticates(token.key) == owner


def test_it_shows_the_same_token_on_every_visit(owner_client, owner):
    owner_client.get(PROFILE)
    first = Token.objects.get(user=owner).key

    response = owner_client.get(PROFILE)

    assert response.status_code == 200
    assert Token.objects.get(user=owner).key == first


def test_it_rotates_the_token_and_the_old_one_stops_working(owner_client, owner):
    old = Token.objects.create(user=owner).key

    response = owner_client.post(ROTATE)

    assert response.status_code == 302
    assert response.url == PROFILE
    new = Token.objects.get(user=owner).key
    assert new != old
    assert _authenticates(new) == owner
    with pytest.raises(AuthenticationFailed):
        _authenticates(old)
    assert new in owner_client.get(PROFILE).content.decode()


def test_it_rotates_only_the_requesters_token(owner_client, other):
    others = Token.objects.create(user=other).key

    owner_client.post(ROTATE)

    assert Token.objects.get(user=other).key == others


def test_it_refuses_to_rotate_on_get(owner_client, owner):
    old = Token.objects.create(user=owner).key

    response = owner_client.get(ROTATE)

    assert response.status_code == 405
    assert Token.objects.get(user=owner).key == old


def test_it_redirects_an_anonymous_rotation_to_login(client):
    response = client.post(ROTATE)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert not Token.objects.exists()


def test_it_refuses_to_rotate_without_a_csrf_token(owner):
    old = Token.objects.create(user=owner).key
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(ROTATE)

    assert response.status_code == 403
    assert Token.objects.get(user=owner).key == old


def test_it_creates_a_token_when_rotating_a_user_without_one(owner):
    token = token_rotate(user=owner)

    assert Token.objects.get(user=owner) == token


def test_the_profile_page_is_never_cached(client, owner):
    client.force_login(owner)

    response = client.get(PROFILE)

    assert "no-store" in response["Cache-Control"]


def test_the_profile_page_says_a_new_password_replaces_the_token(client, owner):
    client.force_login(owner)

    html = " ".join(client.get(PROFILE).content.decode().split())

    assert "Changing or resetting your password also replaces the token." in html


def test_the_token_endpoint_gives_the_signed_in_user_their_token(owner_client, owner):
    response = owner_client.get(reverse("accounts:token"))

    assert response.status_code == 200 and response.json() == {"token": Token.objects.get(user=owner).key}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_the_token_endpoint_gives_a_visitor_nothing(client):
    assert client.get(reverse("accounts:token")).json() == {"token": None}
