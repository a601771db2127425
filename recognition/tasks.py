"""Celery tasks: thin interfaces to the services, like views."""
from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings

from recognition import services

log = logging.getLogger(__name__)


@worker_process_init.connect
def load_model_in_worker(**_kwargs) -> None:
    """Load the model once per worker process, after the fork and never in the parent
    (TensorFlow's threads do not survive a fork), with thread pools sized for the worker."""
    from ml.inference import configure_threads, get_engine

    configure_threads(settings.INFERENCE_TF_THREADS, 1)
    engine = get_engine(settings.ML_MODEL_DIR)
    log.info("worker ready with model %s", engine.version)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,  # a killed worker's task goes back to the queue
    ignore_result=True,  # the Prediction row holds the result
    time_limit=120,
    soft_time_limit=100,
)
def run_predictions(prediction_ids: list[str]) -> None:
    """Recognise these predictions (idempotent: finished ones are left alone)."""
    services.predictions_run(prediction_ids)


@shared_task(ignore_result=True, time_limit=60)
def requeue_stale_predictions() -> int:
    """Beat runs this: resend predictions left pending (broker down, queue lost)."""
    return services.predictions_requeue_stale()
