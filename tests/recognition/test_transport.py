"""Where predictions run and how they are sent: in the web process without a broker, and
in as few Celery tasks as the batch size allows with one."""
import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from ml import inference
from recognition import services, transport
from recognition.models import Prediction
from recognition.selectors import serving_model_dir


@pytest.mark.django_db(transaction=True)
def test_when_the_server_starts_it_loads_the_model_and_finishes_what_the_last_run_left(
        owner, digit_png, settings, monkeypatch, in_process_transport):
    settings.PREDICTION_STALE_SECONDS = 1
    with monkeypatch.context() as stopped:  # the last run stopped before running it
        stopped.setattr(transport, "send", lambda ids: None)
        left = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    monkeypatch.setattr(inference, "_engines", {})  # a new process: no model loaded yet
    transport.warm_up().result(timeout=120)
    assert [engine.model_dir for engine in inference._engines.values()] == [serving_model_dir().resolve()]
    deadline = time.monotonic() + 60
    while Prediction.objects.get(pk=left.pk).status == Prediction.Status.PENDING:
        assert time.monotonic() < deadline, "the sweeper never ran it"
        time.sleep(0.1)
    left.refresh_from_db()
    assert (left.status, left.answer) == (Prediction.Status.DONE, digit_png[1])


def test_the_broker_setting_chooses_the_transport(settings):
    work = transport.current().work
    settings.CELERY_BROKER_URL = ""
    assert isinstance(transport.from_settings(work), transport.InProcessTransport)
    settings.CELERY_BROKER_URL, settings.REDIS_URL = "redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/6"
    chosen = transport.from_settings(work)
    assert isinstance(chosen, transport.CeleryTransport) and chosen.redis_url == settings.REDIS_URL


def test_with_a_broker_the_web_process_loads_no_model(monkeypatch, celery_transport):
    monkeypatch.setattr(inference, "_engines", {})
    assert transport.warm_up() is None
    assert inference._engines == {}  # the workers hold it


def _sent_tasks(redis_url: str, queue: str) -> list[list[str]]:
    """The id lists of the run_predictions tasks waiting in ``queue`` (no worker reads it)."""
    messages = redis.Redis.from_url(redis_url).lrange(queue, 0, -1)
    bodies = [json.loads(base64.b64decode(json.loads(m)["body"])) for m in messages]
    return [args[0] for args, _kwargs, _embed in bodies]


@pytest.fixture
def queue_without_worker(redis_url, celery_transport):
    yield celery_transport
    redis.Redis.from_url(redis_url).delete(celery_transport)


def test_a_large_send_goes_out_in_tasks_of_the_batch_size(redis_url, settings, queue_without_worker):
    settings.PREDICTION_TASK_BATCH = 16
    ids = [f"id-{i}" for i in range(40)]
    transport.send(ids)
    assert sorted(len(task) for task in _sent_tasks(redis_url, queue_without_worker)) == [8, 16, 16]
    assert sorted(sum(_sent_tasks(redis_url, queue_without_worker), [])) == sorted(ids)


def test_sends_from_many_threads_at_once_each_reach_the_queue_exactly_once(redis_url, settings,
                                                                           queue_without_worker):
    settings.PREDICTION_TASK_BATCH = 16
    ids = [f"id-{i}" for i in range(60)]
    with ThreadPoolExecutor(30) as pool:
        list(pool.map(lambda pk: transport.send([pk]), ids))
    tasks = _sent_tasks(redis_url, queue_without_worker)
    assert sorted(sum(tasks, [])) == sorted(ids)  # none lost, none sent twice
    assert all(1 <= len(task) <= 16 for task in tasks)
