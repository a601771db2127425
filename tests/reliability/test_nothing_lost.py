"""Nothing a user submitted is lost: a worker killed mid-task, Redis stopped and restarted.

Real processes throughout: Celery workers, a redis-server of the test's own (the shared one
stays up), PostgreSQL. The stale-pending sweeper is called as beat calls it.
"""
import base64
import os
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognition import services
from recognition.models import Prediction
from recognition.tasks import requeue_stale_predictions
from tests.workers import Worker, celery_transport, new_queue


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of our own on a free port, that nothing else uses."""

    def __init__(self, port: int | None = None):
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start (is it installed?)")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _age_pending(seconds: int) -> None:
    # As if the sweeper's PREDICTION_STALE_SECONDS had passed since they were queued. The
    # rows are locked in primary-key order, the order a worker writes its batch in, so this
    # waits for a running worker instead of deadlocking with it.
    with transaction.atomic():
        ids = list(Prediction.objects.select_for_update().filter(status=Prediction.Status.PENDING)
                   .order_by("pk").values_list("pk", flat=True))
        Prediction.objects.filter(pk__in=ids).update(queued_at=timezone.now() - timedelta(seconds=seconds))


def _wait_all_finished(ids, timeout: float, worker: Worker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Prediction.objects.filter(pk__in=ids, status=Prediction.Status.PENDING).exists():
            return
        time.sleep(0.2)
    left = Prediction.objects.filter(pk__in=ids, status=Prediction.Status.PENDING).count()
    raise AssertionError(f"{left} predictions still pending; worker said:\n{worker.output}")


@pytest.fixture
def own_redis():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def use_broker():
    """``use_broker(url, queue)``: send predictions through Celery there until the test ends."""
    with ExitStack() as stack:
        yield lambda url, queue: stack.enter_context(celery_transport(url, queue))


def _interrupt_mid_way(first: Worker, interrupt, *, owner, digit_png, queue, own_redis, settings,
                       media_in_tmp) -> None:
    """300 predictions for ``first``; once some are done, ``interrupt(first)``; then a second
    worker and the sweeper (called as beat would) finish the rest. Every prediction must end
    done with the right answer, and those done before the interruption not run again."""
    second = None
    try:
        first.wait_ready()
        images = [(digit_png[0], f"{i}.png") for i in range(300)]
        ids = [p.pk for p in services.predictions_create(owner=owner, images=images, source="api")]
        deadline = time.monotonic() + 60
        while not Prediction.objects.filter(pk__in=ids, status=Prediction.Status.DONE).exists():
            assert time.monotonic() < deadline, first.output
            time.sleep(0.02)
        interrupt(first)
        done_before = dict(Prediction.objects.filter(pk__in=ids, status=Prediction.Status.DONE)
                           .values_list("pk", "finished_at"))
        assert 0 < len(done_before) < len(ids), "the interruption must land mid-way"

        second = Worker(broker_url=own_redis.url, queue=queue, media_root=media_in_tmp)
        second.wait_ready()
        _age_pending(settings.PREDICTION_STALE_SECONDS + 1)
        requeue_stale_predictions()
        _wait_all_finished(ids, 120, second)
    finally:
        first.stop()
        if second:
            second.stop()
    rows = Prediction.objects.filter(pk__in=ids)
    assert rows.filter(status=Prediction.Status.DONE, answer=digit_png[1]).count() == len(ids)
    for pk, finished_at in done_before.items():  # finished before: never run again
        assert rows.get(pk=pk).finished_at == finished_at


def _kill(worker: Worker) -> None:
    # Its pool process and the parent, without warning.
    for pid in worker.child_pids():
        os.kill(pid, signal.SIGKILL)
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()


def test_a_worker_killed_mid_task_loses_nothing_and_answers_once(
        transactional_db, owner, digit_png, own_redis, settings, use_broker, media_in_tmp):
    queue = new_queue()
    use_broker(own_redis.url, queue)
    first = Worker(broker_url=own_redis.url, queue=queue, media_root=media_in_tmp, pool="prefork",
                   concurrency=1)
    _interrupt_mid_way(first, _kill, owner=owner, digit_png=digit_png, queue=queue, own_redis=own_redis,
                       settings=settings, media_in_tmp=media_in_tmp)


def test_a_worker_restarted_under_load_loses_nothing_and_answers_each_once(
        transactional_db, owner, digit_png, own_redis, settings, use_broker, media_in_tmp):
    queue = new_queue()
    use_broker(own_redis.url, queue)
    first = Worker(broker_url=own_redis.url, queue=queue, media_root=media_in_tmp)
    # A restart as a deployment does it: SIGTERM (its taken but unrun tasks go back to the
    # queue), then a new worker.
    _interrupt_mid_way(first, Worker.stop, owner=owner, digit_png=digit_png, queue=queue, own_redis=own_redis,
                       settings=settings, media_in_tmp=media_in_tmp)


def test_redis_stopped_while_users_submit_then_everything_finishes(
        transactional_db, owner, digit_png, own_redis, settings, use_broker, media_in_tmp):
    queue = new_queue()
    use_broker(own_redis.url, queue)
    # Supervised as in `make stack`: a worker that loses Redis may exit, and is started again.
    worker = Worker(broker_url=own_redis.url, queue=queue, media_root=media_in_tmp, supervised=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    body = {"image": base64.b64encode(digit_png[0]).decode()}
    try:
        worker.wait_ready()
        before = client.post("/api/v1/predictions/?wait=10", body, format="json")
        assert before.status_code == 201, worker.output

        own_redis.stop()
        during = [client.post("/api/v1/predictions/?wait=1", body, format="json") for _ in range(5)]
        assert [r.status_code for r in during] == [202] * 5  # accepted, kept pending: no 5xx
        ids = [r.json()["id"] for r in during]
        assert Prediction.objects.filter(pk__in=ids, status=Prediction.Status.PENDING).count() == 5

        RedisServer(port=own_redis.port)  # back, empty: the queued tasks are gone
        _age_pending(settings.PREDICTION_STALE_SECONDS + 1)
        assert requeue_stale_predictions() == 5
        _wait_all_finished(ids, 90, worker)
    finally:
        worker.stop()
        subprocess.run(["pkill", "-f", f"redis-server 127.0.0.1:{own_redis.port}"], check=False)
    assert Prediction.objects.filter(pk__in=ids, status=Prediction.Status.DONE,
                                     answer=digit_png[1]).count() == 5
