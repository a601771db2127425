import pytest

# One browser for the whole run, shared by every browser test module (Playwright's sync API
# allows one at a time).
from tests.recognition.browser import browser  # noqa: F401 - a fixture


@pytest.fixture(scope="module")
def module_worker(django_db_setup, redis_url, tmp_path_factory):
    """A real worker process on a queue of its own, started once for a module's tests:
    its start (a process, Django and the model) costs more than the tests themselves."""
    from tests.workers import Worker, new_queue

    worker = Worker(broker_url=redis_url, queue=new_queue(), media_root=tmp_path_factory.mktemp("media"))
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def celery_worker(module_worker, transactional_db, redis_url, settings):
    """The module's worker; this process sends tasks to it and stores images where it reads them."""
    from tests.workers import celery_transport

    settings.MEDIA_ROOT = module_worker.media_root
    with celery_transport(redis_url, module_worker.queue):
        yield module_worker


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
