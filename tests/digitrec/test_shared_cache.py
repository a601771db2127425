"""Throttle counters live in Redis when there is one, so separate processes (web processes,
machines) count together; a Redis that cannot be reached stops the counting, not the site."""
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings

# Counts `tries` sign-up attempts from one client IP with the auth throttle at 3/min (the
# throttle needs the settings, not the apps, whose loading would cost seconds a process).
COUNT = """
import json, sys
from django.conf import settings
from django.test import RequestFactory
from digitrec.throttling import AuthThrottle
AuthThrottle.THROTTLE_RATES = {"auth": "3/min"}
request = RequestFactory().post("/", REMOTE_ADDR=sys.argv[1])
print(json.dumps({"cache": settings.CACHES["default"]["BACKEND"],
                  "allowed": [AuthThrottle().allow_request(request, None) for _ in range(int(sys.argv[2]))]}))
"""


def _count_in_a_new_process(env: dict, address: str, tries: int) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_URL", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, "-c", COUNT, address, str(tries)],
        env={**clean, "DJANGO_SETTINGS_MODULE": "digitrec.settings", **env},
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _unique_address() -> str:
    """A documentation-range IPv6 address no other run counts for."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def test_two_processes_share_one_counter_in_redis(redis_url):
    address = _unique_address()

    first = _count_in_a_new_process({"CACHE_URL": redis_url}, address, 2)
    second = _count_in_a_new_process({"CACHE_URL": redis_url}, address, 2)

    assert first["cache"] == second["cache"] == "digitrec.cache.FailOpenRedisCache"
    assert first["allowed"] == [True, True]
    assert second["allowed"] == [True, False]


def test_the_broker_redis_is_the_default_shared_store(redis_url):
    address = _unique_address()

    first = _count_in_a_new_process({"CELERY_BROKER_URL": redis_url}, address, 3)
    second = _count_in_a_new_process({"CELERY_BROKER_URL": redis_url}, address, 1)

    assert second == {"cache": "digitrec.cache.FailOpenRedisCache", "allowed": [False]}
    assert first["allowed"] == [True, True, True]


def test_without_redis_each_process_counts_in_memory():
    result = _count_in_a_new_process({}, "203.0.113.1", 4)

    assert result == {"cache": "digitrec.cache.LocalCache",
                      "allowed": [True, True, True, False]}


@pytest.mark.django_db
def test_an_unreachable_redis_lets_requests_through(settings, caplog):
    from rest_framework.test import APIClient

    settings.CACHES = {"default": {
        "BACKEND": "digitrec.cache.FailOpenRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}

    response = APIClient().post("/api/v1/auth/register/",
                                {"username": "ada", "password": "correct-Horse-battery-9"}, format="json")

    assert response.status_code == 201
    assert "cache unavailable" in caplog.text
