import pytest


@pytest.fixture
def celery_worker(transactional_db, redis_url, settings, media_in_tmp):
    """A real worker process on a queue of its own; this process sends tasks to it."""
    from tests.workers import Worker, new_queue, point_celery_at

    queue = new_queue()
    settings.CELERY_BROKER_URL = redis_url
    previous = point_celery_at(redis_url, queue)
    worker = Worker(broker_url=redis_url, queue=queue, media_root=media_in_tmp)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
        point_celery_at(*previous)
