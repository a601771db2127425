"""DRF's TokenAuthentication, as the API uses it: one query per request."""
import pytest
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_it_finds_the_user_and_the_token_in_one_query(owner, django_assert_num_queries):
    token = Token.objects.create(user=owner)

    with django_assert_num_queries(1):
        user, auth = TokenAuthentication().authenticate_credentials(token.key)

    assert user == owner and user.username == "owner" and user.is_active
    assert (auth.key, auth.user_id, auth.created) == (token.key, owner.pk, token.created)


def test_it_serves_the_owner_of_the_token_and_nobody_else(owner, other):
    Token.objects.create(user=other)
    token = Token.objects.create(user=owner)

    response = _client(token.key).get("/api/v1/predictions/")

    assert response.status_code == 200
    request = response.renderer_context["request"]
    assert request.user == owner and request.auth.key == token.key
    assert type(request.successful_authenticator) is TokenAuthentication


def test_an_unknown_token_is_a_401_asking_for_a_token(owner):
    Token.objects.create(user=owner)

    response = _client("0" * 40).get("/api/v1/predictions/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["message"] == "Invalid token."


def test_the_token_of_a_deactivated_account_is_refused(owner):
    token = Token.objects.create(user=owner)
    owner.is_active = False
    owner.save()

    with pytest.raises(AuthenticationFailed, match="User inactive or deleted."):
        TokenAuthentication().authenticate_credentials(token.key)
    assert _client(token.key).get("/api/v1/predictions/").status_code == 401
