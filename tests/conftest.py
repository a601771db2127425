"""Fixtures shared by the whole suite: three people and the real services.

The suite runs against real PostgreSQL and Redis (see STYLE.md). When one is not
reachable the run stops at once, naming the service and its URL, instead of failing
test by test with confusing errors.
"""
import os
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from psycopg.conninfo import make_conninfo

PASSWORD = "a-Known-passw0rd-for-tests"


def _redacted(url: str) -> str:
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@") if password else url


def pytest_sessionstart(session: pytest.Session) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.exit(
            "The test suite runs on PostgreSQL, but DATABASE_URL is "
            f"{_redacted(url) or 'not set'}. Run `make test`, or set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/digitrec.",
            returncode=1,
        )
    try:
        # The maintenance database: the test database does not exist yet.
        psycopg.connect(make_conninfo(url, dbname="postgres", connect_timeout=3)).close()
    except psycopg.Error as exc:
        pytest.exit(
            f"PostgreSQL is not reachable at {_redacted(url)} (DATABASE_URL): {exc}",
            returncode=1,
        )


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis used as broker in tests; stops the run if it is not reachable."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis is not reachable at {_redacted(url)} (REDIS_URL): {exc}", returncode=1)
    return url


@pytest.fixture
def password() -> str:
    """The password of the owner, other and staff users."""
    return PASSWORD


# Log these people in with client.force_login(): client.login() calls authenticate()
# without a request, which django-axes refuses.
@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", "owner@example.com", PASSWORD)


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("other", "other@example.com", PASSWORD)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.com", PASSWORD, is_staff=True
    )
