"""The embedded mode's transport (no broker): threads of this process run predictions,
previews and webhook deliveries, and sweeper threads stand in for Celery beat. Chosen and
installed by ``recognition.transport``."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import close_old_connections

from recognition import selectors

log = logging.getLogger(__name__)


class InProcessTransport:
    """Threads of this process run the predictions, and a condition variable wakes the
    waiting request; sweeper threads stand in for Celery beat (stale predictions, due
    webhook deliveries). Webhooks are posted by threads of their own, so a slow receiver
    never holds up inference."""

    WEBHOOK_THREADS = 4

    FINISHED_KEPT = 10_000

    def __init__(self, work):  # a recognition.transport.Work
        self.work = work
        self._executor: ThreadPoolExecutor | None = None
        self._previewer: ThreadPoolExecutor | None = None
        self._webhooks: ThreadPoolExecutor | None = None
        self._timers: set[threading.Timer] = set()  # retries waiting for their time
        self._sweepers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stop_sweeping = threading.Event()
        self._condition = threading.Condition()
        self._finished: OrderedDict[str, dict | None] = OrderedDict()  # recently finished

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=settings.INPROCESS_INFERENCE_THREADS,
                                                    thread_name_prefix="inference")
                self._stop_sweeping = threading.Event()
                self._sweepers = [threading.Thread(target=self._sweep_forever, args=(self._stop_sweeping,),
                                                   name="stale-sweeper", daemon=True)]
                if self.work.send_due is not None:
                    self._sweepers.append(threading.Thread(target=self._send_due_forever, args=(self._stop_sweeping,),
                                                           name="webhook-sweeper", daemon=True))
                for sweeper in self._sweepers:
                    sweeper.start()
            return self._executor

    def deliver(self, ids: list[str], delay: float = 0) -> None:
        if delay > settings.WEBHOOK_SWEEP_SECONDS:
            return  # the sweeper sends it when it is due: no thread waits hours for it
        if delay > 0:
            timer = threading.Timer(delay, self._deliver_later, args=(ids,))
            timer.daemon = True
            with self._lock:
                self._timers.add(timer)
            timer.start()
            return
        self._pool()  # the sweepers run from the first delivery on
        with self._lock:
            if self._webhooks is None:
                self._webhooks = ThreadPoolExecutor(max_workers=self.WEBHOOK_THREADS, thread_name_prefix="webhook")
            for pk in ids:
                self._webhooks.submit(self._deliver, pk)

    def _deliver_later(self, ids: list[str]) -> None:
        with self._lock:
            self._timers.discard(threading.current_thread())
        self.deliver(ids)

    def _deliver(self, delivery_id: str) -> None:
        try:
            self.work.deliver(delivery_id)
        except Exception:  # noqa: BLE001 - the delivery stays due, and the sweeper sends it again
            log.exception("webhook delivery %s failed", delivery_id)
        finally:
            close_old_connections()

    def send(self, ids: list[str]) -> None:
        self._pool().submit(self._run, ids)

    def _run(self, ids: list[str]) -> None:
        try:
            self.work.run(ids)
        except Exception:  # noqa: BLE001 - the sweeper retries; a thread must not die silently
            log.exception("in-process inference failed for %s", ids)
        finally:
            close_old_connections()

    def announce(self, finished: dict) -> None:
        with self._condition:
            for pk, fields in finished.items():
                self._finished[str(pk)] = fields
            while len(self._finished) > self.FINISHED_KEPT:
                self._finished.popitem(last=False)
            self._condition.notify_all()

    def wait(self, prediction_id: str, timeout: float) -> dict | None:
        if timeout <= 0:
            return None
        with self._condition:
            self._condition.wait_for(lambda: prediction_id in self._finished, timeout=timeout)
            return self._finished.get(prediction_id)

    def preview(self, image: bytes, mode: str, timeout: float) -> dict | None:
        # Threads of their own, so previews (one per stroke) never delay a saved
        # prediction; one not started when the caller gives up is dropped.
        with self._lock:
            if self._previewer is None:
                self._previewer = ThreadPoolExecutor(max_workers=settings.INPROCESS_INFERENCE_THREADS,
                                                     thread_name_prefix="preview")
            future = self._previewer.submit(self._preview, image, mode)
        try:
            return future.result(timeout=max(timeout, 0))
        except FutureTimeout:
            future.cancel()
            return None

    def _preview(self, image: bytes, mode: str) -> dict:
        try:
            return self.work.preview(image, mode)
        finally:
            close_old_connections()

    def warm_up(self) -> Future:
        # Importing TensorFlow alone takes seconds: load the model in the background so the
        # first drawing is answered at once; starting the pool starts the sweeper, which
        # finishes what the last run left pending.
        return self._pool().submit(_load_model)

    def broker_status(self) -> str:
        return "in-process"

    def shutdown(self) -> None:
        """Finish the work in hand and stop the threads (tests, a clean exit); the next
        prediction starts them again."""
        with self._lock:
            self._stop_sweeping.set()
            sweepers, self._sweepers = self._sweepers, []
        for sweeper in sweepers:  # a sweep under way ends first: nothing is sent after this returns
            sweeper.join()
        with self._lock:
            executor, self._executor = self._executor, None
            previewer, self._previewer = self._previewer, None
            webhooks, self._webhooks = self._webhooks, None
            timers, self._timers = self._timers, set()
        for timer in timers:  # their deliveries stay due in the database
            timer.cancel()
        for pool in (executor, previewer, webhooks):
            if pool is not None:
                pool.shutdown(wait=True)

    def _sweep_forever(self, stop: threading.Event) -> None:
        while not stop.wait(settings.PREDICTION_STALE_SECONDS / 2):
            try:
                self.work.requeue()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable
                log.exception("stale-pending sweep failed")
            finally:
                close_old_connections()


    def _send_due_forever(self, stop: threading.Event) -> None:
        # At once first: deliveries that a restart interrupted go out as the process starts.
        while not stop.is_set():
            try:
                self.work.send_due()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable
                log.exception("webhook sweep failed")
            finally:
                close_old_connections()
            stop.wait(settings.WEBHOOK_SWEEP_SECONDS)


def _load_model() -> None:
    from ml.inference import get_engine  # TensorFlow: imported here, in the background

    try:
        get_engine(selectors.serving_model_dir())
    except Exception:  # noqa: BLE001 - the first prediction will say what is wrong
        log.exception("could not load the model in advance")
    finally:
        close_old_connections()
