"""Celery tasks: thin interfaces to the runs, like views."""
from __future__ import annotations

import base64
import logging
import os

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from recognition import idempotency, runs, selectors, transport, webhooks

log = logging.getLogger(__name__)


def _load_model() -> None:
    """Load the serving model, or stop the worker: one that cannot answer must not take
    tasks (they would all fail) while healthy workers could."""
    from ml.artifact import ArtifactError
    from ml.inference import configure_threads, get_engine

    configure_threads(settings.INFERENCE_TF_THREADS, 1)
    try:
        model_dir = selectors.serving_model_dir()
        engine = get_engine(model_dir)
    except DatabaseError as exc:
        # Not a configuration error: the first batch asks again once the database is back.
        log.warning("cannot ask the database which model serves (%s); it is loaded with the first batch", exc)
        return
    except ArtifactError as exc:
        log.critical("refusing to start: no usable model: %s. Restore the artifact (git checkout "
                     "ml/artifacts), run `manage.py migrate`, or activate a valid version.", exc)
        logging.shutdown()
        os._exit(78)  # EX_CONFIG; a signal handler cannot stop Celery any other way
    log.info("worker ready with model %s", engine.version)


def _load_model_if_it_runs_predictions(app) -> None:
    """Load the model if this worker consumes the deployment's queue, where predictions go.
    One that consumes only the webhook deliveries' (``-Q <queue>.webhooks``) needs none."""
    consumed = app.amqp.queues.consume_from
    if app.conf.task_default_queue in consumed:
        _load_model()
    else:
        log.info("worker ready for %s, without the model", ", ".join(sorted(consumed)))


@worker_process_init.connect
def load_model_in_worker_process(**_kwargs) -> None:
    """Prefork pool: load the model once per child, after the fork and never in the parent
    (TensorFlow's threads do not survive a fork), with thread pools sized for the worker."""
    from digitrec.celery import app

    _load_model_if_it_runs_predictions(app)


@worker_init.connect
def load_model_in_threaded_worker(sender=None, **_kwargs) -> None:
    """Threads pool (the default in the Procfile): one process whose task threads share
    one model, so concurrent tasks are micro-batched into one model call."""
    pool = getattr(sender, "pool_cls", "")
    if "prefork" not in str(getattr(pool, "__module__", pool)):
        _load_model_if_it_runs_predictions(sender.app)


def run(prediction_ids: list) -> None:
    """Run these predictions in this process and return when they are finished, batched
    with those other threads of this process (task threads, in-process threads) are
    running at the same moment: one database read, transaction and announcement for all."""
    transport.batched("predictions", runs.predictions_run, max_size=settings.PREDICTION_RUN_BATCH,
                      threads=settings.PREDICTION_RUN_THREADS, after_batch=close_old_connections,
                      ).submit([str(i) for i in prediction_ids])


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,  # a killed worker's task goes back to the queue
    ignore_result=True,  # the Prediction row holds the result
    time_limit=120,
    soft_time_limit=100,
)
def run_predictions(prediction_ids: list[str]) -> None:
    """Recognise these predictions (idempotent: finished ones are left alone), in one
    batch with those the worker's other task threads are running."""
    run(prediction_ids)


@shared_task(ignore_result=True, time_limit=60)
def requeue_stale_predictions() -> int:
    """Beat runs this: resend predictions left pending (broker down, queue lost)."""
    return runs.predictions_requeue_stale()


@shared_task(ignore_result=True, acks_late=False, time_limit=30)
def run_preview(preview_id: str, image: str, mode: str) -> None:
    """Recognise a base64 image, store nothing, and announce the answer under ``preview_id``
    to the web process waiting for it. Not acknowledged late: a lost preview is asked again
    by the next stroke, not redelivered."""
    transport.announce({preview_id: runs.preview_run(base64.b64decode(image), mode)})


@shared_task(ignore_result=True, acks_late=True, time_limit=60)
def deliver_webhook(delivery_id: str) -> None:
    """POST one finished prediction to one webhook, if that delivery is due (idempotent: a
    delivered, given-up or claimed one is left alone)."""
    webhooks.delivery_attempt(delivery_id)


@shared_task(ignore_result=True, time_limit=60)
def send_due_webhook_deliveries() -> int:
    """Beat runs this: send the webhook deliveries whose retry time has come."""
    return webhooks.deliveries_send_due()


@shared_task(ignore_result=True, time_limit=300)
def delete_expired_idempotency_keys() -> int:
    """Beat runs this: forget idempotency keys past IDEMPOTENCY_KEY_HOURS."""
    return idempotency.idempotency_keys_delete_expired()
