"""Sign-ups, token requests and password resets are throttled per client IP, on the API and
the pages; X-Forwarded-For counts only from a trusted proxy."""
from ipaddress import ip_network

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from digitrec.throttling import AuthThrottle, RecognizeThrottle, UserThrottle

pytestmark = pytest.mark.django_db

STRONG = "correct-Horse-battery-9"
PROXY = "10.0.0.5"


@pytest.fixture(autouse=True)
def three_a_minute(monkeypatch):
    rates = {**AuthThrottle.THROTTLE_RATES, "auth": "3/min", "recognize": "2/min"}
    for throttle in (AuthThrottle, RecognizeThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/24")]


def _sign_up(client: APIClient, name: str, **headers) -> int:
    return client.post("/api/v1/auth/register/", {"username": name, "password": STRONG},
                       format="json", **headers).status_code


def test_a_forged_x_forwarded_for_does_not_lift_the_api_throttle():
    client = APIClient()

    codes = [_sign_up(client, f"u{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}") for i in range(4)]

    assert codes == [201, 201, 201, 429]
    assert not get_user_model().objects.filter(username="u3").exists()


def test_behind_a_trusted_proxy_each_client_has_its_own_count(behind_proxy):
    client = APIClient(REMOTE_ADDR=PROXY)

    first = [_sign_up(client, f"a{i}", HTTP_X_FORWARDED_FOR="198.51.100.1") for i in range(4)]
    second = _sign_up(client, "b0", HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert first == [201, 201, 201, 429] and second == 201


def test_token_requests_are_throttled_per_ip(owner, password):
    client = APIClient()
    body = {"username": "owner", "password": password}

    codes = [client.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


def test_the_register_page_is_throttled_with_a_429_page(client):
    form = {"email": "", "password1": STRONG, "password2": STRONG}

    responses = [client.post(reverse("accounts:register"), {**form, "username": f"p{i}"},
                             HTTP_X_FORWARDED_FOR=f"198.51.100.{i}") for i in range(4)]
    client.logout()  # each success logs in; the page then only redirects

    assert [r.status_code for r in responses] == [302, 302, 302, 429]
    assert 'data-testid="error-429"' in responses[-1].content.decode()
    assert 0 < int(responses[-1]["Retry-After"]) <= 60
    assert not get_user_model().objects.filter(username="p3").exists()


def test_the_register_page_and_the_api_share_one_count(client):
    form = {"username": "page", "email": "", "password1": STRONG, "password2": STRONG}
    api = APIClient()
    codes = [_sign_up(api, f"u{i}") for i in range(2)]

    response = client.post(reverse("accounts:register"), form)
    codes += [response.status_code, _sign_up(api, "u9")]

    assert codes == [201, 201, 302, 429]


def test_password_resets_are_throttled_with_a_429_page(client, owner_email_verified):
    url = reverse("accounts:password_reset")

    codes = [client.post(url, {"email": "owner@example.com"}).status_code for _ in range(4)]

    assert codes == [302, 302, 302, 429]
    assert len(mail.outbox) == 3


def test_showing_the_pages_is_not_counted(client):
    codes = [client.get(reverse("accounts:register")).status_code for _ in range(5)]

    assert codes == [200] * 5


def test_lockouts_behind_a_trusted_proxy_are_per_client(behind_proxy, client, owner, password):
    url = reverse("accounts:login")
    for _ in range(5):
        client.post(url, {"username": "owner", "password": "wrong"},
                    REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")

    locked = client.post(url, {"username": "owner", "password": password},
                         REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    elsewhere = client.post(url, {"username": "owner", "password": password},
                            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert locked.status_code == 429 and elsewhere.status_code == 302


def test_a_forged_x_forwarded_for_does_not_lift_a_lockout(client, owner, password):
    url = reverse("accounts:login")
    for i in range(5):
        client.post(url, {"username": "owner", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")

    response = client.post(url, {"username": "owner", "password": password},
                           HTTP_X_FORWARDED_FOR="198.51.100.99")

    assert response.status_code == 429


def test_the_recognize_throttle_counts_anonymous_visitors_per_client_ip(rf):
    from django.contrib.auth.models import AnonymousUser

    def allowed(address: str) -> bool:
        request = rf.post("/", REMOTE_ADDR=address)
        request.user = AnonymousUser()
        return RecognizeThrottle().allow_request(request, None)

    assert [allowed("203.0.113.1") for _ in range(3)] == [True, True, False]
    assert allowed("203.0.113.2")


def test_the_recognize_throttle_leaves_signed_in_users_to_their_own_rate(rf, owner):
    from digitrec.throttling import RecognizeUserThrottle

    request = rf.post("/", REMOTE_ADDR="203.0.113.1")
    request.user = owner

    assert RecognizeThrottle().get_cache_key(request, None) is None
    assert RecognizeUserThrottle().get_cache_key(request, None) == f"throttle_count_recognize_user_{owner.pk}"


def test_the_user_throttle_counts_anonymous_requests_by_client_ip(rf, settings):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/", REMOTE_ADDR="203.0.113.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    request.user = AnonymousUser()

    assert UserThrottle().get_cache_key(request, None) == "throttle_count_user_203.0.113.1"
