"""How predictions travel: to Celery workers when a broker is configured, else to threads
of this process (the embedded mode).

The choice is made once, when the app is ready (``RecognitionConfig.ready`` calls
``install(from_settings(...))``); everything else calls ``send``, ``announce``,
``wait_for``, ``preview``, ``deliver``, ``warm_up`` and ``broker_status`` here and never
asks again. The embedded mode's transport is ``recognition.inprocess``.
Tests switch transports with ``install``. What travels is handed in as a ``Work`` (the
tasks to send, the functions that run ids or a preview in this process, the stale-pending
requeue), so this module imports neither ``tasks`` nor ``runs``.

A preview is a recognition with no row: run on threads of this process, or sent to a worker
as a task carrying the image, whose answer is announced and waited for like a prediction's,
under a random id.

A prediction that cannot be sent (the broker is down) stays pending in the database, and
the stale-pending sweeper sends it again later: the row, not the queue, is the source of
truth. Likewise a missed announcement only means the waiter reads the row.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import redis
from django.conf import settings
from django.db import connection
from kombu import Connection

from ml.microbatch import MicroBatcher
from recognition.inprocess import InProcessTransport

log = logging.getLogger(__name__)

# Short enough for a load balancer's probe, which typically gives up after 5 s.
BROKER_TIMEOUT = 2


@dataclass(frozen=True)
class Work:
    """What the transport moves, handed in by the app."""

    task: Any  # the Celery task that runs a list of prediction ids
    run: Callable[[list[str]], None]  # runs ids in this process, returning when they are finished
    requeue: Callable[[], int]  # resends stale pending predictions
    preview_task: Any = None  # the Celery task that recognises an image and announces the answer
    preview: Callable[[bytes, str], dict] | None = None  # recognises an image in this process
    deliver_task: Any = None  # the Celery task that attempts one webhook delivery
    deliver: Callable[[str], Any] | None = None  # attempts one webhook delivery in this process
    send_due: Callable[[], int] | None = None  # sends the webhook deliveries that are due


class Transport(Protocol):
    work: Work

    def send(self, ids: list[str]) -> None: ...
    def announce(self, finished: dict) -> None: ...
    def wait(self, prediction_id: str, timeout: float) -> dict | None: ...
    def preview(self, image: bytes, mode: str, timeout: float) -> dict | None: ...
    def deliver(self, ids: list[str], delay: float = 0) -> None: ...
    def warm_up(self) -> Future | None: ...
    def broker_status(self) -> dict | str: ...
    def shutdown(self) -> None: ...


_current: Transport | None = None
_batchers: dict[str, MicroBatcher] = {}
_batchers_lock = threading.Lock()


def install(transport: Transport | None) -> Transport | None:
    """Make ``transport`` the one this process uses; returns the previous one (tests put it back)."""
    global _current
    previous, _current = _current, transport
    return previous


def current() -> Transport:
    if _current is None:
        raise RuntimeError("no transport installed: the recognition app is not ready")
    return _current


def webhook_queue(queue: str) -> str:
    """The queue of webhook deliveries: the deployment's ``queue`` with ``.webhooks`` after it.
    Deliveries wait on receivers, so a worker of their own runs them (the Procfile's
    ``webhooks``), and a receiver that never answers holds up no prediction."""
    return f"{queue}.webhooks"


def from_settings(work: Work) -> Transport:
    """Celery when CELERY_BROKER_URL is set, else in-process: the one place that asks."""
    if settings.CELERY_BROKER_URL:
        return CeleryTransport(work, redis_url=settings.REDIS_URL)
    return InProcessTransport(work)


def send(prediction_ids: list) -> None:
    """Send predictions to be run; never raises (the sweeper covers a failed send)."""
    current().send([str(pk) for pk in prediction_ids])


def announce(finished: dict) -> None:
    """Wake whoever waits for these predictions: ``finished`` maps each id to the fields
    written for it (JSON-ready), or to None to say "read the row". Never raises."""
    current().announce(finished)


def wait_for(prediction, seconds: float):
    """Wait at most ``seconds`` for ``prediction`` to finish; return it as it is then.

    A waiting thread sleeps in Redis (or on a condition), so it holds up no other thread;
    with a connection pool it gives its database connection back while it sleeps.
    """
    if getattr(connection, "pool", None) and not connection.in_atomic_block:
        connection.close()
    announced = current().wait(str(prediction.pk), seconds)
    if announced is None:
        prediction.refresh_from_db()
        return prediction
    # The announcement holds every field the run wrote, which is all that changes between
    # creating and finishing a prediction: no need to read the row again.
    for name, value in announced.items():
        setattr(prediction, name, prediction._meta.get_field(name).to_python(value))
    return prediction


def preview(image: bytes, mode: str, seconds: float) -> dict | None:
    """Recognise ``image`` without storing anything: the answer's fields (JSON-ready, as a
    run writes them), or None if no answer came within ``seconds`` (busy)."""
    return current().preview(image, mode, seconds)


def deliver(delivery_ids: list, delay: float = 0) -> None:
    """Send webhook deliveries to be attempted in ``delay`` seconds; never raises. A long
    delay may be left to the sweep of due deliveries, which the row's due time drives."""
    current().deliver([str(pk) for pk in delivery_ids], delay)


def warm_up() -> Future | None:
    """Called as the web server starts: prepare what the first prediction needs."""
    return current().warm_up()


def broker_status() -> dict | str:
    """For /healthz: "in-process", or whether the broker accepts a connection."""
    return current().broker_status()


def batched(name: str, run_ids: Callable[[list[str]], None], **options) -> MicroBatcher:
    """This process's batcher ``name``, started on first use (after a fork, never before).
    Each caller submits a list of ids; ``run_ids`` gets those of a whole batch at once."""
    with _batchers_lock:
        if name not in _batchers:
            _batchers[name] = MicroBatcher(partial(_all_at_once, run_ids), size=len, name=name, **options)
        return _batchers[name]


def _all_at_once(run_ids, batch: list[list[str]]) -> list[None]:
    run_ids([pk for ids in batch for pk in ids])
    return [None] * len(batch)


def _chunks(ids: list, size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class CeleryTransport:
    """Tasks through the broker; a worker announces on a short-lived Redis list per
    prediction, and the waiting request blocks on it (BLPOP), waking the moment the
    answer is stored."""

    KEY = "digitrec:finished:{}"
    KEY_TTL_SECONDS = 60

    def __init__(self, work: Work, *, redis_url: str):
        self.work = work
        self.redis_url = redis_url
        self._redis: redis.Redis | None = None

    def _client(self) -> redis.Redis:
        if self._redis is None:  # on first use: after a fork, never before
            self._redis = redis.Redis.from_url(self.redis_url, socket_connect_timeout=1, socket_timeout=12)
        return self._redis

    def send(self, ids: list[str]) -> None:
        # The ids this process's threads send at the same moment go out together, in as
        # few tasks as PREDICTION_TASK_BATCH allows: one message for several predictions.
        batched("send", self._send, max_size=settings.PREDICTION_TASK_BATCH).submit(ids)

    def _send(self, ids: list[str]) -> None:
        for chunk in _chunks(ids, settings.PREDICTION_TASK_BATCH):
            try:
                self.work.task.apply_async(args=[chunk], retry=False)
            except Exception as exc:  # noqa: BLE001 - any broker failure: keep the rows pending
                log.warning("could not queue %d prediction(s), the sweeper will resend them: %s",
                            len(chunk), exc)

    def announce(self, finished: dict) -> None:
        try:
            pipe = self._client().pipeline(transaction=False)
            for pk, fields in finished.items():
                key = self.KEY.format(pk)
                pipe.rpush(key, json.dumps(fields))
                pipe.expire(key, self.KEY_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not announce finished predictions: %s", exc)

    def wait(self, prediction_id: str, timeout: float) -> dict | None:
        if timeout <= 0:
            return None
        try:
            # BLPOP takes whole seconds on old servers; a float timeout works on Redis >= 6.
            item = self._client().blpop([self.KEY.format(prediction_id)], timeout=timeout)
        except redis.RedisError as exc:
            log.warning("cannot wait on Redis, falling back to the database: %s", exc)
            time.sleep(min(timeout, 0.5))
            return None
        try:
            fields = json.loads(item[1]) if item else None
        except ValueError:
            return None
        return fields if isinstance(fields, dict) else None

    def preview(self, image: bytes, mode: str, timeout: float) -> dict | None:
        # This process has no model: a worker runs the task and announces the answer under
        # a random id, on which this thread waits as for a prediction. The task expires with
        # the wait, so a worker that gets to it too late drops it.
        preview_id = f"preview-{uuid.uuid4().hex}"
        try:
            self.work.preview_task.apply_async(
                args=[preview_id, base64.b64encode(image).decode("ascii"), mode], expires=timeout, retry=False)
        except Exception as exc:  # noqa: BLE001 - any broker failure: "busy, try again"
            log.warning("could not queue a preview: %s", exc)
            return None
        return self.wait(preview_id, timeout)

    def deliver(self, ids: list[str], delay: float = 0) -> None:
        # Redis hands an unacknowledged task out again after visibility_timeout, countdown
        # included: a retry further off than that is left to beat's sweep of due deliveries.
        if delay > settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] / 2:
            return
        queue = webhook_queue(self.work.deliver_task.app.conf.task_default_queue)
        for pk in ids:
            try:
                self.work.deliver_task.apply_async(args=[pk], countdown=delay or None, retry=False, queue=queue)
            except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep sends it later
                log.warning("could not queue webhook deliveries, the sweep will send them: %s", exc)
                return

    def warm_up(self) -> None:
        return None  # the workers hold the model, and beat sweeps

    def broker_status(self) -> dict:
        conf = self.work.task.app.conf
        transport_options = {
            **conf.broker_transport_options,
            "socket_connect_timeout": BROKER_TIMEOUT,
            "socket_timeout": BROKER_TIMEOUT,
        }
        try:
            with Connection(conf.broker_url, connect_timeout=BROKER_TIMEOUT,
                            transport_options=transport_options) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
        except Exception as exc:  # any transport's error means "not ready"
            log.warning("health: broker unreachable: %s", exc)
            return {"status": "error", "error": type(exc).__name__}
        return {"status": "ok"}

    def shutdown(self) -> None:
        return None
