"""Writes for predictions: create, give feedback, review, delete. Running them is
``runs``; model versions are ``model_versions``.

Every way in (the draw page, the upload page, the API) creates predictions through
``prediction_create``.
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ml.decoding import ImageDecodeError, TooManyPixels, check_image
from recognition import transport
from recognition.models import Prediction
from recognition.validators import validate_label

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}


class ImageTooLarge(ValidationError):
    """Raised for a file over MAX_UPLOAD_BYTES (code "too_large") or with more pixels than
    the decode budget allows ("too_many_pixels"); the API answers 413."""


class PreviewBusy(Exception):
    """No answer to a preview within PREVIEW_TIMEOUT_SECONDS (the API answers 503)."""


def too_large_message(size: int) -> str:
    # MB of 2**20 bytes, as the upload page counts them.
    return _("The file is %(size)s MB; at most %(most)s MB is accepted.") % {
        "size": number_format(size / 2**20, 1), "most": number_format(settings.MAX_UPLOAD_BYTES / 2**20, 1)}


def _decode_message(exc: ImageDecodeError) -> str:
    """The decoder's message in the current language (ml marks it for translation)."""
    return _(exc.template) % exc.params if exc.params else _(exc.template)


def validate_image(data: bytes) -> str:
    """Check from its header that ``data`` is an image of a supported kind and size; return
    its extension. Its pixels are decoded once, later, when it is recognised.

    A non-image, a truncated PNG or an image over the pixel budget is refused at once with
    a clear message, and never becomes a half-stored prediction.
    """
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise ImageTooLarge(too_large_message(len(data)), code="too_large")
    try:
        image_format = check_image(data)
    except TooManyPixels as exc:
        raise ImageTooLarge(_decode_message(exc), code="too_many_pixels") from exc
    except ImageDecodeError as exc:
        raise ValidationError(_decode_message(exc), code="not_an_image") from exc
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
        raise ValidationError(_("Mode must be one of: %(modes)s.") % {"modes": ", ".join(Prediction.Mode.values)},
                              code="invalid_mode")
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
    transaction.on_commit(lambda: transport.send(ids))
    return predictions


def prediction_preview(*, image: bytes, mode: str = Prediction.Mode.DIGIT) -> Prediction:
    """Recognise an image at once and store nothing: a Prediction that is never saved (no
    row, no file), finished or failed. Raises ValidationError for an image ``prediction_create``
    would refuse, and PreviewBusy when no answer comes in time."""
    if mode not in Prediction.Mode.values:
        raise ValidationError(_("Mode must be one of: %(modes)s.") % {"modes": ", ".join(Prediction.Mode.values)},
                              code="invalid_mode")
    validate_image(image)
    fields = transport.preview(image, mode, settings.PREVIEW_TIMEOUT_SECONDS)
    if fields is None:
        raise PreviewBusy()
    prediction = Prediction(mode=mode, source=Prediction.Source.API)
    for name, value in fields.items():
        setattr(prediction, name, prediction._meta.get_field(name).to_python(value))
    return prediction


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
        raise ValidationError(_("This prediction is a single digit: give one digit, 0-9."), code="invalid_label")
    return label


def prediction_review(*, prediction: Prediction, label: str, reviewer) -> Prediction:
    """Record staff's right answer for a finished ("done") prediction ("" clears it)."""
    if prediction.status != Prediction.Status.DONE:
        raise ValidationError(_("Only a prediction the model answered can be reviewed."), code="not_done")
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
