import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

STRONG = "correct-Horse-battery-9"


def test_it_registers_and_returns_a_working_token():
    response = APIClient().post("/api/v1/auth/register/", {"username": "ada", "password": STRONG,
                                                           "email": "ada@example.com"}, format="json")
    assert response.status_code == 201
    body = response.json()
    user = get_user_model().objects.get(username="ada")
    assert body == {"id": user.pk, "username": "ada", "token": Token.objects.get(user=user).key,
                    "verification_mail_sent": True}
    assert user.check_password(STRONG) and user.email == "ada@example.com"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert client.get("/api/v1/predictions/").status_code == 200


@pytest.mark.parametrize("payload, field", [
    ({"username": "ada", "password": "123"}, "password"),
    ({"username": "ada", "password": "password"}, "password"),
    ({"username": "owner", "password": STRONG}, "username"),
    ({"username": "bad name!", "password": STRONG}, "username"),
    ({"password": STRONG}, "username"),
    ({"username": "ada", "password": STRONG, "email": "not-an-email"}, "email"),
])
def test_a_bad_sign_up_is_a_400_naming_the_field(owner, payload, field):
    response = APIClient().post("/api/v1/auth/register/", payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert get_user_model().objects.filter(username="ada").count() == 0


def test_it_exchanges_a_password_for_the_token(owner, password):
    response = APIClient().post("/api/v1/auth/token/", {"username": "owner", "password": password},
                                format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=owner).key}


def test_a_wrong_password_is_401(owner):
    response = APIClient().post("/api/v1/auth/token/", {"username": "owner", "password": "nope"},
                                format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_repeated_failures_lock_the_account_out(owner, password):
    client = APIClient()
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": "owner", "password": "nope"}, format="json")
    response = client.post("/api/v1/auth/token/", {"username": "owner", "password": password}, format="json")
    assert response.status_code == 429 and "locked" in response.json()["error"]["message"]


def test_sign_ups_are_throttled_per_ip(settings):
    from rest_framework.settings import api_settings

    from digitrec.throttling import AuthThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "3/min"}
    AuthThrottle.THROTTLE_RATES = rates
    try:
        client = APIClient()
        codes = [client.post("/api/v1/auth/register/", {"username": f"u{i}", "password": STRONG},
                             format="json").status_code for i in range(4)]
    finally:
        AuthThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [201, 201, 201, 429]
    assert get_user_model().objects.filter(username="u3").count() == 0


def test_a_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/predictions/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_token_answers_are_never_cached(owner, password):
    client = APIClient()
    responses = [
        client.post("/api/v1/auth/token/", {"username": "owner", "password": password}, format="json"),
        client.post("/api/v1/auth/register/", {"username": "ada", "password": STRONG}, format="json"),
    ]

    assert [r.status_code for r in responses] == [200, 201]
    assert all("no-store" in r["Cache-Control"] for r in responses)


def test_a_sign_up_with_a_taken_email_is_a_400(owner):
    response = APIClient().post("/api/v1/auth/register/", {
        "username": "ada", "password": STRONG, "email": "Owner@Example.COM"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]
    assert not get_user_model().objects.filter(username="ada").exists()
