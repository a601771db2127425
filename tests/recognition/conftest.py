import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from ml import data
from tests.images import encode, line_of, place


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Each test stores images in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def mnist_test():
    """MNIST test digits and labels (fetched and verified once)."""
    try:
        data.fetch(settings.MNIST_DIR)
        mnist = data.load(settings.MNIST_DIR)
    except data.DatasetError as exc:
        pytest.exit(f"MNIST is needed by these tests and could not be fetched: {exc}", returncode=1)
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


@pytest.fixture
def blank_png():
    return encode(Image.new("L", (280, 280), 255))


@pytest.fixture
def noise_jpeg():
    rng = np.random.default_rng(0)
    return encode(Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)), "JPEG")


@pytest.fixture
def celery_worker(transactional_db, redis_url, settings, media_in_tmp):
    """A real worker process on a queue of its own; this process sends tasks to it."""
    from digitrec.celery import app
    from tests.workers import Worker, new_queue

    queue = new_queue()
    settings.CELERY_BROKER_URL = redis_url
    previous = (app.conf.broker_url, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_default_queue = redis_url, queue
    worker = Worker(broker_url=redis_url, queue=queue, media_root=media_in_tmp)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
        app.conf.broker_url, app.conf.task_default_queue = previous
