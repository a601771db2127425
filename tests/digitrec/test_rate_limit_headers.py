"""Every API response tells the client its throttle budget in the IETF RateLimit fields; a
429 also says when to retry."""
import re

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from digitrec.throttling import RecognizeThrottle, UserThrottle

pytestmark = pytest.mark.django_db

FIELD = re.compile(r'^"(?P<scope>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()


def _budget(response) -> tuple[str, int, int]:
    match = FIELD.match(response["RateLimit"])
    assert match, response["RateLimit"]
    return match["scope"], int(match["r"]), int(match["t"])


def test_each_request_uses_one_of_the_users_budget(owner, token_client):
    client = token_client(owner)

    first = client.get("/api/v1/predictions/")
    second = client.get("/api/v1/model/")

    assert first["RateLimit-Policy"] == '"user";q=3000;w=60'
    assert _budget(first)[:2] == ("user", 2999)
    scope, remaining, reset = _budget(second)
    assert (scope, remaining) == ("user", 2998) and 0 < reset <= 60


def test_a_throttled_request_keeps_retry_after_and_shows_nothing_left(owner, token_client, monkeypatch):
    monkeypatch.setattr(UserThrottle, "THROTTLE_RATES", {**UserThrottle.THROTTLE_RATES, "user": "2/min"})
    client = token_client(owner)

    codes = [client.get("/api/v1/predictions/").status_code for _ in range(2)]
    throttled = client.get("/api/v1/predictions/")

    assert codes == [200, 200] and throttled.status_code == 429
    assert throttled["RateLimit-Policy"] == '"user";q=2;w=60'
    scope, remaining, reset = _budget(throttled)
    assert (scope, remaining) == ("user", 0) and 0 < reset <= 60
    assert 0 < int(throttled["Retry-After"]) <= 60


def test_the_tightest_of_several_throttles_is_reported(monkeypatch, owner, token_client):
    """Previews count against the per-user API rate and their own, lower one."""
    monkeypatch.setattr(RecognizeThrottle, "THROTTLE_RATES", {**RecognizeThrottle.THROTTLE_RATES, "recognize": "5/min"})

    response = APIClient().post("/api/v1/recognize/", {}, format="json")  # 400: no image, but counted

    assert response.status_code == 400
    assert response["RateLimit-Policy"] == '"recognize";q=5;w=60'
    assert _budget(response)[:2] == ("recognize", 4)


@pytest.mark.parametrize("headers, status", [
    ({"HTTP_AUTHORIZATION": "Token not-a-token"}, 401),  # refused before any throttle counts
    ({}, 401),
])
def test_answers_no_throttle_counted_still_show_the_clients_budget(headers, status):
    response = APIClient().get("/api/v1/predictions/", **headers)

    assert response.status_code == status
    assert response["RateLimit-Policy"] == '"user";q=3000;w=60'
    assert _budget(response) == ("user", 3000, 0)


def test_a_body_refused_before_any_view_shows_the_budget(owner, token_client, settings):
    response = token_client(owner).generic("POST", "/api/v1/predictions/", b"x",
                                           CONTENT_TYPE="application/json", CONTENT_LENGTH=str(10**9))

    assert response.status_code == 413
    assert response["RateLimit-Policy"] == '"user";q=3000;w=60'


def test_pages_carry_no_rate_limit_fields(client):
    assert "RateLimit" not in client.get("/")
