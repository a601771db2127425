"""Writes for predictions: create, run, requeue, give feedback, delete.

Every way in (the draw page, the upload page, the API) creates predictions through
``prediction_create``, and every way of running them (a Celery worker, the in-process
executor of the embedded mode) goes through ``predictions_run``.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ml import preprocessing
from recognition import dispatch
from recognition.models import Prediction

log = logging.getLogger(__name__)

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}
NO_DIGIT_MESSAGE = "No digit found: the image looks blank. Draw or photograph a digit and try again."
INTERNAL_MESSAGE = "Something went wrong while recognising this image. Please try again."


class ImageTooLarge(ValidationError):
    """Raised for a file over MAX_UPLOAD_BYTES (the API answers 413)."""


def validate_image(data: bytes) -> str:
    """Check that ``data`` is a whole, readable image of a supported kind; return its extension.

    Decoding in full here (a millisecond or two) means a truncated, bomb or non-image file
    is refused at once with a clear message, and never becomes a half-stored prediction.
    """
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise ImageTooLarge(
            f"The file is {len(data) / 1e6:.1f} MB; at most {settings.MAX_UPLOAD_BYTES / 1e6:.0f} MB is accepted.",
            code="too_large",
        )
    try:
        image_format = preprocessing.image_format(data)
        preprocessing.decode_image(data)
    except preprocessing.ImageDecodeError as exc:
        raise ValidationError(str(exc), code="not_an_image") from exc
    return EXTENSIONS[image_format]


def _store(data: bytes, extension: str) -> tuple[str, str]:
    """Save the image under a content-derived name; identical images share one file."""
    digest = hashlib.sha256(data).hexdigest()
    name = f"predictions/{digest[:2]}/{digest}.{extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name, digest


def prediction_create(*, owner, image: bytes, source: str, mode: str = Prediction.Mode.DIGIT,
                      image_name: str = "") -> Prediction:
    """Validate and store an image, save a pending prediction, and queue it once committed.

    Raises ValidationError (ImageTooLarge for an oversized file) and stores nothing then.
    """
    return predictions_create(owner=owner, images=[(image, image_name)], source=source, mode=mode)[0]


def predictions_create(*, owner, images: list[tuple[bytes, str]], source: str,
                       mode: str = Prediction.Mode.DIGIT) -> list[Prediction]:
    """Several images at once (the batch endpoint): all are valid and stored, or none is."""
    if mode not in Prediction.Mode.values:
        raise ValidationError(f"Mode must be one of: {', '.join(Prediction.Mode.values)}.", code="invalid_mode")
    checked = [(data, name, validate_image(data)) for data, name in images]
    now = timezone.now()
    with transaction.atomic():
        predictions = []
        for data, name, extension in checked:
            stored, digest = _store(data, extension)
            predictions.append(Prediction.objects.create(
                owner=owner, image=stored, image_sha256=digest, image_bytes=len(data),
                image_name=name[:200], source=source, mode=mode, queued_at=now,
            ))
        ids = [p.pk for p in predictions]
        # Only once the rows are committed can a worker find them.
        transaction.on_commit(lambda: dispatch.enqueue(ids))
    return predictions


def _digit_payload(result) -> dict:
    return {
        "digit": result.digit,
        "confidence": round(result.confidence, 6),
        "probabilities": result.probabilities,
        "box": list(result.box),
        "pixels": base64.b64encode(result.pixels.tobytes()).decode("ascii"),
    }


def predictions_run(prediction_ids: Iterable) -> None:
    """Recognise pending predictions, all through the model in one batch.

    Idempotent: a prediction that is already finished is left alone, and the result is
    written only while the row is still pending, so a redelivered or duplicated task can
    neither redo nor overwrite a finished answer.
    """
    from ml.inference import get_engine

    now = timezone.now()
    pending = list(Prediction.objects.filter(pk__in=list(prediction_ids), status=Prediction.Status.PENDING))
    if not pending:
        return
    for prediction in pending:
        prediction.attempts += 1
        prediction.started_at = now
    Prediction.objects.bulk_update(pending, ["attempts", "started_at"])

    by_mode: dict[str, list[Prediction]] = {}
    for prediction in pending:
        by_mode.setdefault(prediction.mode, []).append(prediction)
    engine = get_engine(settings.ML_MODEL_DIR)
    for mode, group in by_mode.items():
        images = []
        for prediction in group:
            try:
                with prediction.image.open("rb") as fh:
                    images.append(fh.read())
            except OSError as exc:
                log.error("image of prediction %s is missing: %s", prediction.pk, exc)
                images.append(exc)
        results = engine.recognize_many([i for i in images if not isinstance(i, Exception)], mode=mode)
        results_iter = iter(results)
        for prediction, image in zip(group, images):
            result = image if isinstance(image, Exception) else next(results_iter)
            _finish(prediction, result, engine.version)


def _finish(prediction: Prediction, result, model_version: str) -> None:
    fields = {"finished_at": timezone.now(), "model_version": model_version}
    if isinstance(result, preprocessing.NoDigitFound):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.NO_DIGIT,
                      error=NO_DIGIT_MESSAGE)
    elif isinstance(result, preprocessing.ImageDecodeError):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.UNREADABLE,
                      error=str(result))
    elif isinstance(result, Exception):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.INTERNAL,
                      error=INTERNAL_MESSAGE)
    else:
        fields.update(status=Prediction.Status.DONE, answer=result.text,
                      confidence=round(result.confidence, 6),
                      digits=[_digit_payload(d) for d in result.digits])
    # The guard on status is what makes a second delivery harmless.
    Prediction.objects.filter(pk=prediction.pk, status=Prediction.Status.PENDING).update(**fields)


def predictions_requeue_stale() -> int:
    """Send again the predictions that have waited too long (a broker that was down, a
    task lost with a restarted Redis, a worker killed mid-task); give up on a prediction
    after PREDICTION_MAX_ATTEMPTS runs. Returns how many were sent."""
    now = timezone.now()
    stale = Prediction.objects.filter(
        status=Prediction.Status.PENDING,
        queued_at__lt=now - timedelta(seconds=settings.PREDICTION_STALE_SECONDS),
    )
    stale.filter(attempts__gte=settings.PREDICTION_MAX_ATTEMPTS).update(
        status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.INTERNAL,
        error=INTERNAL_MESSAGE, finished_at=now,
    )
    ids = list(stale.filter(attempts__lt=settings.PREDICTION_MAX_ATTEMPTS)
               .order_by("queued_at").values_list("pk", flat=True)[:1000])
    if ids:
        Prediction.objects.filter(pk__in=ids).update(queued_at=now)
        dispatch.enqueue(ids)
    return len(ids)


def prediction_give_feedback(*, prediction: Prediction, label: str) -> Prediction:
    """Record the right answer as its owner says it ("" clears it)."""
    label = (label or "").strip()
    if label and (not label.isdigit() or len(label) > 64):
        raise ValidationError("The label must be digits only (0-9).", code="invalid_label")
    if label and prediction.mode == Prediction.Mode.DIGIT and len(label) != 1:
        raise ValidationError("This prediction is a single digit: give one digit, 0-9.", code="invalid_label")
    prediction.feedback_label = label
    prediction.feedback_at = timezone.now() if label else None
    prediction.save(update_fields=["feedback_label", "feedback_at"])
    return prediction


def prediction_delete(*, prediction: Prediction) -> None:
    """Delete the row, and its image file unless another prediction shares it."""
    name = prediction.image.name
    with transaction.atomic():
        prediction.delete()
        shared = Prediction.objects.filter(image=name).exists()
    if not shared:
        default_storage.delete(name)
