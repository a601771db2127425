"""Running predictions: the model call, the guarded write, and the resend of stale ones.

Every way of running them (a Celery worker, the in-process threads of the embedded mode)
goes through ``predictions_run``.
"""
from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from ml.decoding import ImageDecodeError
from ml.inference import NotADigit
from ml.ink import NoDigitFound
from ml.pages import TooManyLines
from recognition import selectors, transport, webhooks
from recognition.models import Prediction

log = logging.getLogger(__name__)

NO_DIGIT_MESSAGE = gettext_noop("No digit found: the image looks blank. Draw or photograph a digit and try again.")
NOT_A_DIGIT_MESSAGE = gettext_noop("No digit found: this looks like a drawing or a mark, not a digit.")
INTERNAL_MESSAGE = gettext_noop("Something went wrong while recognising this image. Please try again.")


def _digit_payload(result) -> dict:
    return {
        "digit": result.digit,
        "confidence": round(result.confidence, 6),
        "probabilities": result.probabilities,
        "alternatives": [[digit, round(probability, 6)] for digit, probability in result.alternatives],
        "box": list(result.box),
        "doubtful": result.doubtful,
        "pixels": base64.b64encode(result.pixels.tobytes()).decode("ascii"),
    }


def predictions_run(prediction_ids: Iterable) -> None:
    """Recognise pending predictions, all through the model in one batch.

    Idempotent: a prediction that is already finished is left alone, and the result is
    written only while the row is still pending, so a redelivered or duplicated task can
    neither redo nor overwrite a finished answer.
    """
    from ml.inference import get_engine

    ids = list(prediction_ids)
    started_at = timezone.now()
    # The attempt is counted when a prediction is sent (created, or resent by the
    # sweeper), so one that kills its worker every time is still given up after
    # PREDICTION_MAX_ATTEMPTS sends.
    pending = list(Prediction.objects.filter(pk__in=ids, status=Prediction.Status.PENDING)
                   .only("pk", "mode", "image"))
    if not pending:
        return

    by_mode: dict[str, list[Prediction]] = {}
    for prediction in pending:
        by_mode.setdefault(prediction.mode, []).append(prediction)
    engine = get_engine(selectors.serving_model_dir())
    outcomes = []
    for mode, group in by_mode.items():
        images = []
        for prediction in group:
            try:
                with prediction.image.open("rb") as fh:
                    images.append(fh.read())
            except OSError as exc:
                log.error("image of prediction %s is missing: %s", prediction.pk, exc)
                images.append(exc)
        results = iter(engine.recognize_many([i for i in images if not isinstance(i, Exception)], mode=mode))
        outcomes += [(p, image if isinstance(image, Exception) else next(results)) for p, image in zip(group, images)]
    rows = {prediction.pk: _outcome_fields(result, engine.version, started_at) for prediction, result in outcomes}
    with transaction.atomic():  # one commit for the batch
        # Only rows still pending are written, so a redelivered or duplicated run can
        # neither redo nor overwrite a finished answer. They are locked in primary-key
        # order, as every other run locks them: two runs that share rows wait for each
        # other instead of deadlocking. (SQLite has no row locks: the status guard in the
        # UPDATE keeps a finished answer there.)
        locked = (Prediction.objects.select_for_update()
                  .filter(pk__in=rows, status=Prediction.Status.PENDING).order_by("pk")
                  .annotate(hooked=webhooks.owner_has_webhook()).values_list("pk", "hooked"))
        written, hooked = set(), []
        for pk, has_webhook in locked:
            written.add(pk)
            if has_webhook:
                hooked.append(pk)
        for pk in written:
            Prediction.objects.filter(pk=pk, status=Prediction.Status.PENDING).update(**rows[pk])
        webhooks.deliveries_create(hooked)  # in this transaction: a finished prediction's are never lost
    transport.announce({str(pk): _json_ready(fields) if pk in written else None for pk, fields in rows.items()})


def preview_run(image: bytes, mode: str) -> dict:
    """Recognise one image in this process and return the fields a run would write for it
    (JSON-ready), storing nothing: the answer of a preview."""
    from ml.inference import get_engine

    started_at = timezone.now()
    try:
        engine = get_engine(selectors.serving_model_dir())
        result, version = engine.recognize_many([image], mode=mode)[0], engine.version
    except Exception as exc:  # noqa: BLE001 - answered as an internal failure, like a run's
        log.exception("preview failed")
        result, version = exc, ""
    return _json_ready(_outcome_fields(result, version, started_at))


def _json_ready(fields: dict) -> dict:
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in fields.items()}


def _outcome_fields(result, model_version: str, started_at) -> dict:
    """The fields that finish a prediction with this result (a Recognition or the
    exception that explains why there is none)."""
    fields = {"started_at": started_at, "finished_at": timezone.now(), "model_version": model_version}
    if isinstance(result, NotADigit):  # before NoDigitFound, of which it is a kind
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.NOT_A_DIGIT,
                      error=NOT_A_DIGIT_MESSAGE, number_hint=result.number_hint)
    elif isinstance(result, NoDigitFound):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.NO_DIGIT,
                      error=NO_DIGIT_MESSAGE)
    elif isinstance(result, TooManyLines):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.TOO_MANY_LINES,
                      error=str(result))
    elif isinstance(result, ImageDecodeError):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.UNREADABLE,
                      error=str(result))
    elif isinstance(result, Exception):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.INTERNAL,
                      error=INTERNAL_MESSAGE)
    else:
        fields.update(status=Prediction.Status.DONE, answer=result.text,
                      confidence=round(result.confidence, 6), not_sure=result.not_sure,
                      digits=[_digit_payload(d) for d in result.digits],
                      left_out=[list(box) for box in result.left_out], number_hint=result.number_hint,
                      lines=_lines_payload(result.lines))
    return fields


def _lines_payload(lines) -> list[dict]:
    """A page's lines as stored: each points at its digits in the flat ``digits`` list."""
    payload, first = [], 0
    for line in lines:
        payload.append({"number": line.text, "confidence": round(line.confidence, 6), "box": list(line.box),
                        "first": first, "count": len(line.digits)})
        first += len(line.digits)
    return payload


def predictions_requeue_stale() -> int:
    """Send again the predictions that have waited too long (a broker that was down, a
    task lost with a restarted Redis, a worker killed mid-task); give up on a prediction
    after PREDICTION_MAX_ATTEMPTS sends. Returns how many were sent."""
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED: a row a worker is writing right now needs no resend, and never
        # waiting on a worker's row locks means never deadlocking with its batch.
        stale = (Prediction.objects.select_for_update(skip_locked=True)
                 .filter(status=Prediction.Status.PENDING,
                         queued_at__lt=now - timedelta(seconds=settings.PREDICTION_STALE_SECONDS))
                 .order_by("queued_at"))
        hopeless = list(stale.filter(attempts__gte=settings.PREDICTION_MAX_ATTEMPTS).values_list("pk", flat=True))
        Prediction.objects.filter(pk__in=hopeless).update(
            status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.INTERNAL,
            error=INTERNAL_MESSAGE, finished_at=now,
        )
        webhooks.deliveries_create(hopeless)
        ids = list(stale.filter(attempts__lt=settings.PREDICTION_MAX_ATTEMPTS).values_list("pk", flat=True)[:1000])
        Prediction.objects.filter(pk__in=ids).update(queued_at=now, attempts=F("attempts") + 1)
    if ids:
        transport.send(ids)
    return len(ids)
