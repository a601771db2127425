"""Writes for predictions: create, run, requeue, give feedback, review, delete; and for
model versions: register (sync) and activate.

Every way in (the draw page, the upload page, the API) creates predictions through
``prediction_create``, and every way of running them (a Celery worker, the in-process
executor of the embedded mode) goes through ``predictions_run``.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ml.artifact import ArtifactError, load_metadata
from ml.decoding import ImageDecodeError, check_image
from ml.ink import NoDigitFound
from recognition import dispatch, notify, selectors
from recognition.models import ModelVersion, Prediction
from recognition.validators import validate_label

log = logging.getLogger(__name__)

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}
NO_DIGIT_MESSAGE = "No digit found: the image looks blank. Draw or photograph a digit and try again."
INTERNAL_MESSAGE = "Something went wrong while recognising this image. Please try again."


class ImageTooLarge(ValidationError):
    """Raised for a file over MAX_UPLOAD_BYTES (the API answers 413)."""


def too_large_message(size: int) -> str:
    # MB of 2**20 bytes, as the upload page counts them.
    return f"The file is {size / 2**20:.1f} MB; at most {settings.MAX_UPLOAD_BYTES / 2**20:.1f} MB is accepted."


def validate_image(data: bytes) -> str:
    """Check that ``data`` is a whole, readable image of a supported kind; return its extension.

    A truncated, bomb or non-image file is refused at once with a clear message, and never
    becomes a half-stored prediction.
    """
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise ImageTooLarge(too_large_message(len(data)), code="too_large")
    try:
        image_format = check_image(data)
    except ImageDecodeError as exc:
        raise ValidationError(str(exc), code="not_an_image") from exc
    return EXTENSIONS[image_format]


def _content(image: bytes | File) -> bytes:
    """The image's bytes: an upload (in memory or a temporary file) is read only now."""
    if isinstance(image, bytes):
        return image
    image.seek(0)
    return image.read()


def _store(image: bytes | File, digest: str, extension: str) -> str:
    """Save the image under a content-derived name; identical images share one file. An
    upload is copied (or moved, from a temporary file) chunk by chunk."""
    name = f"predictions/{digest[:2]}/{digest}.{extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(image) if isinstance(image, bytes) else image)
    return name


def prediction_create(*, owner, image: bytes | File, source: str, mode: str = Prediction.Mode.DIGIT,
                      image_name: str = "") -> Prediction:
    """Validate and store an image, save a pending prediction, and queue it once committed.

    Raises ValidationError (ImageTooLarge for an oversized file) and stores nothing then.
    """
    return predictions_create(owner=owner, images=[(image, image_name)], source=source, mode=mode)[0]


def predictions_create(*, owner, images: list[tuple[bytes | File, str]], source: str,
                       mode: str = Prediction.Mode.DIGIT) -> list[Prediction]:
    """Several images at once (the batch endpoint): all are valid and stored, or none is.

    Each image is bytes or an upload; an upload's bytes are in memory one file at a time:
    read, checked and hashed, then let go, before the next is read.
    """
    if mode not in Prediction.Mode.values:
        raise ValidationError(f"Mode must be one of: {', '.join(Prediction.Mode.values)}.", code="invalid_mode")
    checked = []
    for image, name in images:
        data = _content(image)
        checked.append((image, name, validate_image(data), hashlib.sha256(data).hexdigest(), len(data)))
        del data
    now = timezone.now()
    predictions = []
    for image, name, extension, digest, size in checked:
        predictions.append(Prediction(
            owner=owner, image=_store(image, digest, extension), image_sha256=digest, image_bytes=size,
            image_name=name[:200], source=source, mode=mode, queued_at=now, attempts=1,
        ))
    if len(predictions) == 1:
        predictions[0].save(force_insert=True)  # one INSERT: no BEGIN and COMMIT around it
    else:
        Prediction.objects.bulk_create(predictions)  # all or none, in one transaction
    ids = [p.pk for p in predictions]
    # Only once the rows are committed can a worker find them: at once, unless the
    # caller has a transaction open.
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

    ids = list(prediction_ids)
    started_at = timezone.now()
    # One read and one write per prediction: the attempt is counted when a prediction is
    # sent (created, or resent by the sweeper), so one that kills its worker every time is
    # still given up after PREDICTION_MAX_ATTEMPTS sends.
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
        written = set(Prediction.objects.select_for_update().filter(pk__in=rows, status=Prediction.Status.PENDING)
                      .order_by("pk").values_list("pk", flat=True))
        _update_pending([(pk, fields) for pk, fields in rows.items() if pk in written])
    notify.announce({str(pk): _json_ready(fields) if pk in written else None for pk, fields in rows.items()})


def _json_ready(fields: dict) -> dict:
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in fields.items()}


def _outcome_fields(result, model_version: str, started_at) -> dict:
    """The fields that finish a prediction with this result (a Recognition or the
    exception that explains why there is none)."""
    fields = {"started_at": started_at, "finished_at": timezone.now(), "model_version": model_version}
    if isinstance(result, NoDigitFound):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.NO_DIGIT,
                      error=NO_DIGIT_MESSAGE)
    elif isinstance(result, ImageDecodeError):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.UNREADABLE,
                      error=str(result))
    elif isinstance(result, Exception):
        fields.update(status=Prediction.Status.FAILED, error_code=Prediction.ErrorCode.INTERNAL,
                      error=INTERNAL_MESSAGE)
    else:
        fields.update(status=Prediction.Status.DONE, answer=result.text,
                      confidence=round(result.confidence, 6),
                      digits=[_digit_payload(d) for d in result.digits])
    return fields


def _update_pending(rows: list[tuple]) -> None:
    """Write each (pk, fields) to its row if the row is still pending: one UPDATE per row,
    sent together (executemany; on PostgreSQL, psycopg pipelines them in one round trip).
    QuerySet.update would compile the same statement once per row, and bulk_update's
    CASE expressions cost more than they save."""
    meta = Prediction._meta
    quote = connection.ops.quote_name
    by_columns: dict[tuple, list] = {}
    for pk, fields in rows:  # done and failed rows set different columns
        by_columns.setdefault(tuple(fields), []).append((pk, fields))
    with connection.cursor() as cursor:
        for names, group in by_columns.items():
            columns = [meta.get_field(name) for name in names]
            sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(c.column)} = %s' for c in columns)} "
                   f"WHERE {quote(meta.pk.column)} = %s AND {quote(meta.get_field('status').column)} = %s")
            cursor.executemany(sql, [
                [column.get_db_prep_save(fields[column.name], connection) for column in columns]
                + [meta.pk.get_db_prep_value(pk, connection), Prediction.Status.PENDING]
                for pk, fields in group
            ])


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
        ids = list(stale.filter(attempts__lt=settings.PREDICTION_MAX_ATTEMPTS).values_list("pk", flat=True)[:1000])
        Prediction.objects.filter(pk__in=ids).update(queued_at=now, attempts=F("attempts") + 1)
    if ids:
        dispatch.enqueue(ids)
    return len(ids)


def prediction_give_feedback(*, prediction: Prediction, label: str) -> Prediction:
    """Record the right answer as its owner says it ("" clears it)."""
    label = prediction_label_clean(prediction=prediction, label=label)
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


def prediction_label_clean(*, prediction: Prediction, label: str) -> str:
    """``label`` stripped, if it is a valid answer for this prediction; else ValidationError."""
    label = (label or "").strip()
    if label:
        validate_label(label)
    if label and prediction.mode == Prediction.Mode.DIGIT and len(label) != 1:
        raise ValidationError("This prediction is a single digit: give one digit, 0-9.", code="invalid_label")
    return label


def prediction_review(*, prediction: Prediction, label: str, reviewer) -> Prediction:
    """Record staff's right answer for a finished ("done") prediction ("" clears it)."""
    if prediction.status != Prediction.Status.DONE:
        raise ValidationError("Only a prediction the model answered can be reviewed.", code="not_done")
    label = prediction_label_clean(prediction=prediction, label=label)
    prediction.reviewed_label = label
    prediction.reviewed_at = timezone.now() if label else None
    prediction.reviewed_by = reviewer if label else None
    prediction.save(update_fields=["reviewed_label", "reviewed_at", "reviewed_by"])
    return prediction


def predictions_mark_reviewed(*, queryset: QuerySet[Prediction], reviewer) -> int:
    """Accept the best label there is for each "done" prediction not reviewed yet: the owner's
    feedback if any, else the model's answer. Returns how many were marked; a label staff
    already set is never overwritten."""
    return (
        Prediction.objects.filter(pk__in=queryset.values("pk"), status=Prediction.Status.DONE,
                                  reviewed_label="")
        .exclude(answer="")
        .update(
            reviewed_label=Case(When(~Q(feedback_label=""), then=F("feedback_label")), default=F("answer")),
            reviewed_at=timezone.now(),
            reviewed_by=reviewer,
        )
    )


def model_versions_sync() -> list[ModelVersion]:
    """Register every artifact folder under ML_ARTIFACTS_DIR whose metadata.json is valid and
    return the newly registered ones. Idempotent; links (``current``) are skipped, and a
    known version keeps its activation and held-out figures."""
    base = Path(settings.ML_ARTIFACTS_DIR)
    created = []
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        if folder.is_symlink() or not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            metadata = load_metadata(folder)
        except ArtifactError as exc:
            log.warning("not registering %s: %s", folder, exc)
            continue
        trained_at = parse_datetime(str(metadata.get("created_at", "")))
        fields = {"path": folder.name, "metadata": metadata, "test_accuracy": metadata.get("test_accuracy"),
                  "trained_at": trained_at}
        known = ModelVersion.objects.filter(version=metadata["version"]).first()
        if known is None:
            created.append(ModelVersion.objects.create(version=metadata["version"], **fields))
        elif known.path != folder.name and _artifact_exists(known.path):
            log.warning("not registering %s: version %s is already %s", folder, known.version, known.path)
        else:
            ModelVersion.objects.filter(pk=known.pk).update(**fields)
    return created


def _artifact_exists(name: str) -> bool:
    try:
        return selectors.artifact_dir(name).is_dir()
    except ValueError:
        return False


def model_version_activate(*, version: ModelVersion | str, by=None) -> ModelVersion:
    """Serve this version from the next inference batch on, everywhere; any other version
    stops being active in the same transaction. Refuses a version whose artifact is missing
    or corrupt."""
    name = version.version if isinstance(version, ModelVersion) else version
    with transaction.atomic():
        # Lock every row (a handful): two activations at once run one after the other
        # instead of colliding on the one-active constraint.
        rows = {row.version: row for row in ModelVersion.objects.select_for_update().order_by("pk")}
        row = rows.get(name)
        if row is None:
            raise ValidationError(f"No registered model version {name}.", code="unknown_version")
        try:
            load_metadata(selectors.artifact_dir(row.path))
        except (ArtifactError, ValueError) as exc:
            raise ValidationError(f"Cannot activate {name}: {exc}", code="bad_artifact") from exc
        ModelVersion.objects.filter(is_active=True).exclude(pk=row.pk).update(is_active=False)
        row.is_active = True
        row.activated_at = timezone.now()
        row.activated_by = by
        row.save(update_fields=["is_active", "activated_at", "activated_by"])
    selectors.forget_active_model_version()  # this process serves it at once; others within a second
    log.info("model %s activated by %s", name, by or "a command")
    return row
