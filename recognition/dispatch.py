"""Where predictions run: Celery workers when a broker is configured, else this process.

Either way the work is the same service, ``services.predictions_run``, called through
``run``: the predictions that a process's threads are asked to run at the same moment (a
worker's task threads, the embedded executor's) go through it together, with one database
read, one transaction and one notification for all. A prediction that cannot be sent (the
broker is down) stays pending in the database, and the stale-pending sweeper sends it
again later: the row, not the queue, is the source of truth.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from django.conf import settings
from django.db import close_old_connections

from ml.microbatch import MicroBatcher

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_batchers: dict[str, MicroBatcher] = {}
_stop_sweeping = threading.Event()


def _chunks(ids: list, size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def enqueue(prediction_ids: list) -> None:
    """Send predictions to be run; never raises (the sweeper covers a failed send).

    With a broker, the ids that this process's threads send at the same moment go out
    together, in as few tasks as PREDICTION_TASK_BATCH allows: under load, one message
    to publish, deliver and acknowledge for several predictions instead of one each.
    """
    ids = [str(i) for i in prediction_ids]
    if not settings.CELERY_BROKER_URL:
        _in_process().submit(_run_in_process, ids)
        return
    _batched("send", _send, max_size=settings.PREDICTION_TASK_BATCH).submit(ids)


def _send(ids: list[str]) -> None:
    from recognition.tasks import run_predictions

    # Several ids per task let a worker put them through the model as one batch.
    for chunk in _chunks(ids, settings.PREDICTION_TASK_BATCH):
        try:
            run_predictions.apply_async(args=[chunk], retry=False)
        except Exception as exc:  # noqa: BLE001 - any broker failure: keep the rows pending
            log.warning("could not queue %d prediction(s), the sweeper will resend them: %s",
                        len(chunk), exc)


def run(prediction_ids: list) -> None:
    """Run these predictions in this process and return when they are finished, batched
    with those other threads of this process are running at the same moment."""
    _batched("predictions", _predictions_run, max_size=settings.PREDICTION_RUN_BATCH,
             threads=settings.PREDICTION_RUN_THREADS, after_batch=close_old_connections,
             ).submit([str(i) for i in prediction_ids])


def _predictions_run(ids: list[str]) -> None:
    from recognition.services import predictions_run  # services imports this module

    predictions_run(ids)


def _batched(name: str, run_ids, **options) -> MicroBatcher:
    """This process's batcher ``name``, started on first use (after a fork, never before).
    Each caller submits a list of ids; ``run_ids`` gets those of a whole batch at once."""
    with _executor_lock:
        if name not in _batchers:
            _batchers[name] = MicroBatcher(partial(_all_at_once, run_ids), size=len, name=name, **options)
        return _batchers[name]


def _all_at_once(run_ids, batch: list[list[str]]) -> list[None]:
    run_ids([pk for ids in batch for pk in ids])
    return [None] * len(batch)


def warm_up() -> Future | None:
    """When the web server starts, in the embedded mode: load the model in the background
    (importing TensorFlow alone takes seconds), so the first drawing is answered at once,
    and start the sweeper, so predictions left pending by the last run are finished. With
    a broker, the workers hold the model and beat sweeps: nothing to do."""
    if settings.CELERY_BROKER_URL:
        return None
    return _in_process().submit(_load_model)


def _load_model() -> None:
    from ml.inference import get_engine
    from recognition.selectors import serving_model_dir

    try:
        get_engine(serving_model_dir())
    except Exception:  # noqa: BLE001 - the first prediction will say what is wrong
        log.exception("could not load the model in advance")
    finally:
        close_old_connections()


def _in_process() -> ThreadPoolExecutor:
    global _executor, _stop_sweeping
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=settings.INPROCESS_INFERENCE_THREADS,
                                           thread_name_prefix="inference")
            _stop_sweeping = threading.Event()
            threading.Thread(target=_sweep_forever, args=(_stop_sweeping,), name="stale-sweeper",
                             daemon=True).start()
        return _executor


def shutdown() -> None:
    """Finish the in-process work in hand and stop its threads (tests, a clean exit).
    The next prediction starts them again."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
        _stop_sweeping.set()
    if executor is not None:
        executor.shutdown(wait=True)


def _run_in_process(ids: list[str]) -> None:
    try:
        run(ids)
    except Exception:  # noqa: BLE001 - the sweeper retries; a thread must not die silently
        log.exception("in-process inference failed for %s", ids)
    finally:
        close_old_connections()


def _sweep_forever(stop: threading.Event) -> None:
    """The embedded mode's stand-in for Celery beat: resend stale pending predictions."""
    from recognition.services import predictions_requeue_stale

    while not stop.wait(settings.PREDICTION_STALE_SECONDS / 2):
        try:
            predictions_requeue_stale()
        except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable
            log.exception("stale-pending sweep failed")
        finally:
            close_old_connections()
