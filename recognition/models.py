import base64
import uuid

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models.functions import Replace
from django.utils.translation import gettext_lazy as _

from recognition.errors import error_message
from recognition.validators import validate_label


def answer_as_label():
    """The answer as a label compares with it in a query: a page's lines run together."""
    return Replace(models.F("answer"), models.Value("\n"), models.Value(""))


class Prediction(models.Model):
    """One image a person submitted and what the model answered: the source of truth.

    Created ``pending`` by the web process, finished (``done`` or ``failed``) by the
    inference service in a Celery worker or in-process. Nothing about a prediction lives
    only in the broker: a lost task is re-sent from this row.
    """

    class Source(models.TextChoices):
        DRAW = "draw", _("Drawn")
        UPLOAD = "upload", _("Uploaded")
        API = "api", _("API")

    class Mode(models.TextChoices):
        DIGIT = "digit", _("Single digit")
        NUMBER = "number", _("Number (a line of digits)")
        PAGE = "page", _("Page (lines of digits)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class ErrorCode(models.TextChoices):
        NO_DIGIT = "no_digit", _("No digit found")  # a blank or near-blank image
        NOT_A_DIGIT = "not_a_digit", _("Not a digit")  # ink the model reads as no digit (a scribble, a shape)
        UNREADABLE = "unreadable", _("Unreadable image")
        TOO_MANY_LINES = "too_many_lines", _("Too many lines")  # a page past ml.pages.MAX_LINES
        INTERNAL = "internal", _("Internal error")

    # A random id: another person's prediction cannot be found by counting.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="predictions", verbose_name=_("owner"))
    image = models.FileField(_("image"), upload_to="predictions/", max_length=200)
    image_sha256 = models.CharField(max_length=64, db_index=True)
    image_bytes = models.PositiveIntegerField(_("image bytes"))
    image_name = models.CharField(_("image name"), max_length=200, blank=True, help_text=_("File name as uploaded."))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.DIGIT)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)

    # A page's lines joined by newlines: 40 lines (ml.pages.MAX_LINES) of up to 32 digits.
    answer = models.CharField(_("answer"), max_length=1400, blank=True,
                              help_text=_("The digit, the digits left to right, or a page's lines, one a line."))
    # Calibrated: the probability that the whole answer is right.
    confidence = models.FloatField(_("confidence"), null=True, blank=True)
    not_sure = models.BooleanField(_("not sure"), default=False,
                                   help_text=_("Answered below the model's not-sure threshold."))
    # Per digit: {"digit", "confidence", "probabilities": [10 floats], "alternatives": [[digit,
    # probability] x 3, likeliest first], "box": [x, y, w, h], "pixels": base64 of the 28x28
    # bytes the model saw}.
    digits = models.JSONField(default=list, blank=True)
    # Number and page mode: the boxes [x, y, w, h] of marks read as no digit and left out of the answer.
    left_out = models.JSONField(_("left out"), default=list, blank=True)
    # Page mode, top to bottom: {"number", "confidence", "box": [x, y, w, h], "first": index of
    # its first digit in ``digits``, "count": how many digits it has}.
    lines = models.JSONField(_("lines"), default=list, blank=True)
    number_hint = models.CharField(_("number hint"), max_length=64, blank=True,
                                   help_text=_("Single-digit mode given several digits: their reading as a number."))
    model_version = models.CharField(_("model version"), max_length=64, blank=True)
    error_code = models.CharField(_("error code"), max_length=20, choices=ErrorCode.choices, blank=True)
    error = models.TextField(_("error"), blank=True, help_text=_("Why it failed, in words a person understands."))
    # Times sent to run: 1 when created, one more each time the stale sweeper resends it.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    feedback_label = models.CharField(_("feedback label"), max_length=64, blank=True, validators=[validate_label],
                                      help_text=_("The right answer, as the owner says."))
    feedback_at = models.DateTimeField(_("feedback at"), null=True, blank=True)
    # Staff's verdict (services.prediction_review): the label retraining trusts. It wins over
    # the owner's feedback wherever both exist.
    reviewed_label = models.CharField(_("reviewed label"), max_length=64, blank=True, validators=[validate_label],
                                      help_text=_("The right answer, as staff reviewed it."))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+", verbose_name=_("reviewed by"))

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("prediction")
        verbose_name_plural = _("predictions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="prediction_owner_recent"),
            models.Index(fields=["status", "queued_at"], name="prediction_status_queued"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.get_mode_display().lower()} {self.answer or self.status}"

    @property
    def digit(self) -> int | None:
        """The answer as a number in single-digit mode."""
        return int(self.answer) if self.mode == self.Mode.DIGIT and self.answer else None

    @property
    def probabilities(self) -> list[float] | None:
        """The ten class probabilities in single-digit mode."""
        return self.digits[0]["probabilities"] if self.mode == self.Mode.DIGIT and self.digits else None

    @property
    def is_finished(self) -> bool:
        return self.status != self.Status.PENDING

    @property
    def error_message(self) -> str:
        """The error in the current language (stored in English)."""
        return error_message(self.error)

    @property
    def answer_digits(self) -> str:
        """The answer as a label: a page's lines run together (a label is digits only)."""
        return self.answer.replace("\n", "")

    def line_digits(self) -> list[tuple[dict, list[dict]]]:
        """A page's lines, each with its digits (as stored in ``digits``)."""
        return [(line, self.digits[line["first"] : line["first"] + line["count"]]) for line in self.lines]

    def model_input(self, index: int) -> np.ndarray:
        """The 28x28 uint8 image the model saw for digit ``index``."""
        raw = base64.b64decode(self.digits[index]["pixels"])
        return np.frombuffer(raw, dtype=np.uint8).reshape(28, 28)


class ModelVersion(models.Model):
    """A trained artifact found under ML_ARTIFACTS_DIR, and whether it serves.

    At most one row is active, and it is the model that serves (``migrate`` registers the
    shipped artifacts and activates the newest when none is). See ``selectors.serving_model_dir``.
    """

    version = models.CharField(_("version"), max_length=64, unique=True)
    # The artifact's folder name under ML_ARTIFACTS_DIR: a name, never a path, so a row
    # cannot point outside that folder.
    path = models.CharField(_("path"), max_length=200)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True, help_text=_("The artifact's metadata.json."))
    test_accuracy = models.FloatField(_("test accuracy"), null=True, blank=True, help_text=_("On MNIST test."))
    heldout_accuracy = models.FloatField(_("held-out accuracy"), null=True, blank=True,
                                         help_text=_("On the held-out slice of reviewed predictions, "
                                                     "measured when it was trained with feedback."))
    heldout_images = models.PositiveIntegerField(_("held-out images"), null=True, blank=True,
                                                 help_text=_("Size of that held-out slice."))
    trained_at = models.DateTimeField(_("trained at"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=False)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="+", verbose_name=_("activated by"))

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["-trained_at", "-registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                    name="model_version_one_active"),
        ]

    def __str__(self) -> str:
        return self.version

    @property
    def per_class_accuracy(self) -> list[tuple[str, float | None]]:
        """[("0", accuracy), ... ("9", accuracy)] from the metadata (MNIST test)."""
        per_class = self.metadata.get("per_class_accuracy") or {}
        return [(str(d), per_class.get(str(d))) for d in range(10)]


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to its retries.

    The unique (owner, key) constraint, not a lookup, is what makes a concurrent retry wait
    for the first request and then replay its answer (recognition.idempotency).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and parsed body: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_unique_per_owner")]

    def __str__(self) -> str:
        return self.key


class Webhook(models.Model):
    """A URL that is sent each finished prediction of its owner, signed with its secret."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks",
                              verbose_name=_("owner"))
    url = models.URLField(_("URL"), max_length=500)
    # Kept as it is: signing needs it. Shown to the owner once, when the webhook is made.
    secret = models.CharField(_("secret"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One prediction sent to one webhook: retried with backoff until delivered or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries",
                                verbose_name=_("webhook"))
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("prediction"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Due for its next attempt from then; a claimed delivery is pushed past its attempt's timeout.
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # The JSON body, fixed at the first attempt so that every retry sends the same bytes
    # (text, not a JSONField: PostgreSQL's jsonb would reorder the keys).
    payload = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        # The id the receiver gets in the DigitRec-Delivery header, to match its logs.
        return str(self.pk)

    @property
    def last_attempt(self):
        """The latest WebhookAttempt, or None (from prefetched attempts when there are)."""
        attempts = list(self.attempt_set.all())
        return attempts[-1] if attempts else None


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, what came back (or why nothing did)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_set")
    at = models.DateTimeField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]

    @property
    def succeeded(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300
