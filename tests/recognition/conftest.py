import pytest


@pytest.fixture
def celery_worker(transactional_db, redis_url, celery_transport, media_in_tmp):
    """A real worker process on a queue of its own; this process sends tasks to it."""
    from tests.workers import Worker

    worker = Worker(broker_url=redis_url, queue=celery_transport, media_root=media_in_tmp)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
