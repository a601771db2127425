"""A burst of concurrent requests gets exactly the throttle's rate through: the count is one
atomic increment in the shared cache, not a read of the history followed by a write."""
import threading
import uuid

import pytest
from rest_framework.test import APIClient

from digitrec.throttling import AuthThrottle

RATE = 5
BURST = 40


@pytest.fixture(params=["redis", "memory"])
def shared_cache(request, settings):
    """Django's Redis cache (the tests' Redis, a prefix of its own), or the embedded mode's
    local memory."""
    if request.param == "redis":
        settings.CACHES = {"default": {
            "BACKEND": "digitrec.cache.FailOpenRedisCache",
            "LOCATION": request.getfixturevalue("redis_url"),
            "KEY_PREFIX": f"burst-{uuid.uuid4().hex}",
        }}
    else:
        settings.CACHES = {"default": {"BACKEND": "digitrec.cache.LocalCache",
                                       "LOCATION": f"burst-{uuid.uuid4().hex}"}}
    return request.param


def test_a_concurrent_burst_gets_exactly_the_rate_through(shared_cache, monkeypatch):
    monkeypatch.setattr(AuthThrottle, "THROTTLE_RATES", {"auth": f"{RATE}/min"})
    start = threading.Barrier(BURST)
    codes: list[int] = []

    def sign_up() -> None:
        client = APIClient()
        start.wait()
        # An empty sign-up is refused (400) after the throttle lets it through; a throttled one is 429.
        codes.append(client.post("/api/v1/auth/register/", {}, format="json").status_code)

    threads = [threading.Thread(target=sign_up) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(codes) == BURST
    assert sorted(codes) == [400] * RATE + [429] * (BURST - RATE)


def test_the_window_opens_again_after_its_period(shared_cache, monkeypatch, rf):
    import time

    from django.contrib.auth.models import AnonymousUser

    monkeypatch.setattr(AuthThrottle, "THROTTLE_RATES", {"auth": "2/s"})
    request = rf.post("/", REMOTE_ADDR="203.0.113.7")
    request.user = AnonymousUser()

    first = [AuthThrottle().allow_request(request, None) for _ in range(2)]
    refused = AuthThrottle()
    allowed = refused.allow_request(request, None)
    time.sleep(1.2)  # the counter's expiry, one period after the window's first request

    assert first == [True, True] and not allowed and 0 < refused.wait() <= 1
    assert AuthThrottle().allow_request(request, None)
