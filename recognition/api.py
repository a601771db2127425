"""REST API for predictions (/api/v1/predictions/, /api/v1/model/), on the same services
and selectors as the pages. The pages' JavaScript calls these endpoints too."""
from __future__ import annotations

import base64
import binascii
import re
from contextlib import contextmanager
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import File
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.artifact import ArtifactError, load_metadata
from recognition import idempotency_api, selectors, services, transport, waiting
from recognition.filters import PredictionFilter
from recognition.serializers import PredictionSerializer, StrictChoiceField
from recognition.models import Prediction
from recognition.validators import LABEL_MAX_LENGTH, validate_label

MAX_WAIT_SECONDS = 10
MAX_BATCH = 100
DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*;base64,(?P<data>.*)$", re.S)
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp", "image/x-ms-bmp"}


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = gettext_lazy("The image is too large.")


class NotAnImage(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "not_an_image"
    default_detail = gettext_lazy("The file is not an image we can read.")


@extend_schema_field({"type": "string", "format": "binary",
                      "description": "A file (multipart), or base64 / a data: URL (JSON)."})
class ImageField(serializers.Field):
    """An image as a multipart file, or in JSON as base64 or a data: URL."""

    default_error_messages = {
        "required": gettext_lazy("Send an image: a file in the field `image`, or base64 / a data: URL in JSON."),
        "base64": gettext_lazy("The image is not valid base64."),
        "media_type": gettext_lazy("The data URL must have an image media type (image/png, image/jpeg, ...)."),
    }

    def to_internal_value(self, value) -> tuple[bytes | File, str]:
        if hasattr(value, "read"):
            if value.size > settings.MAX_UPLOAD_BYTES:
                raise PayloadTooLarge(_too_large(value.size))
            return value, getattr(value, "name", "") or ""  # read by the service, one file at a time
        if not isinstance(value, str) or not value.strip():
            self.fail("required")
        text = value.strip()
        match = DATA_URL.match(text)
        if text.startswith("data:") and not match:
            self.fail("base64")
        if match:
            if (match.group("type") or "").lower() not in IMAGE_TYPES:
                self.fail("media_type")
            text = match.group("data")
        if len(text) * 3 // 4 > settings.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(_too_large(len(text) * 3 // 4))
        try:
            # Line breaks and spaces are allowed in base64; str.split drops them several
            # times faster than a regular expression on a drawing's 10-20 KB of text.
            return base64.b64decode("".join(text.split()), validate=True), ""
        except (binascii.Error, ValueError):
            self.fail("base64")

    def to_representation(self, value):
        return None


def _too_large(size: int) -> str:
    return services.too_large_message(size)


class PredictionCreateSerializer(serializers.Serializer):
    image = ImageField(help_text="A file (multipart), or base64 / a data: URL (JSON).")
    mode = StrictChoiceField(choices=Prediction.Mode.choices, default=Prediction.Mode.DIGIT)
    source = StrictChoiceField(
        choices=Prediction.Source.values, default=Prediction.Source.API,
        help_text="Used by the site's own draw and upload pages; with a token it is always `api`.",
    )


class BatchCreateSerializer(serializers.Serializer):
    images = serializers.ListField(child=ImageField(), min_length=1, max_length=MAX_BATCH,
                                   help_text=f"Up to {MAX_BATCH} images: files (multipart) or base64 strings.")
    mode = StrictChoiceField(choices=Prediction.Mode.choices, default=Prediction.Mode.DIGIT)


@extend_schema_field({"type": "string", "pattern": "^[0-9]*$", "maxLength": LABEL_MAX_LENGTH})
class LabelField(serializers.CharField):
    """A label checked by the one label validator; "" clears it."""

    def __init__(self, **kwargs):
        super().__init__(max_length=LABEL_MAX_LENGTH, allow_blank=True, validators=[validate_label], **kwargs)


class FeedbackSerializer(serializers.Serializer):
    label = LabelField(help_text="The right answer (digits 0-9 only); empty clears it.")


@contextmanager
def image_errors():
    """The services' refusals of an image, as API errors."""
    try:
        yield
    except services.ImageTooLarge as exc:  # too_large (bytes) or too_many_pixels
        raise PayloadTooLarge(exc.messages[0], code=exc.code)
    except DjangoValidationError as exc:
        if exc.code == "not_an_image":
            raise NotAnImage(exc.messages[0])
        raise ValidationError({"image": exc.messages})


def _create(request, images: list[tuple[bytes | File, str]], mode: str,
            source: str = Prediction.Source.API) -> list[Prediction]:
    """Create through the service, turning its validation errors into API errors."""
    with image_errors():
        return services.predictions_create(owner=request.user, images=images, source=source, mode=mode)


class PredictionListCreate(ListAPIView):
    """Your predictions (newest first, paginated, filterable), and submitting a new one."""

    serializer_class = PredictionSerializer
    filterset_class = PredictionFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Prediction.objects.none()
        return selectors.predictions_for(self.request.user)

    @extend_schema(
        request={"multipart/form-data": PredictionCreateSerializer, "application/json": PredictionCreateSerializer},
        parameters=[OpenApiParameter("wait", {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS}, description=(
            f"Wait up to this many seconds (at most {MAX_WAIT_SECONDS}) for the answer: 201 with the "
            "finished prediction if it is done in time, else 202 pending. When too many of your requests, "
            "or of the server's, are waiting already, 202 pending at once.")), idempotency_api.PARAMETER],
        responses={201: PredictionSerializer, 202: PredictionSerializer, 422: idempotency_api.KEY_REUSED},
    )
    def post(self, request):
        wait = _wait_seconds(request)
        incoming = PredictionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        image, name = incoming.validated_data["image"]

        def create() -> Prediction:
            return _create(request, [(image, name)], incoming.validated_data["mode"],
                           _source(request, incoming.validated_data["source"]))[0]

        def settle(prediction: Prediction) -> Response | None:
            with waiting.waiting_slot(request.user) as may_wait:
                if may_wait:
                    return _answer(request, transport.wait_for(prediction, min(wait, MAX_WAIT_SECONDS)))
            return None  # answered at once, pending

        return idempotency_api.answer_once(request, create, partial(_answer, request), settle if wait else None)


def _answer(request, prediction: Prediction) -> Response:
    """201 with a finished prediction, 202 with a pending one; Location is its address."""
    code = status.HTTP_201_CREATED if prediction.is_finished else status.HTTP_202_ACCEPTED
    location = reverse("api:prediction-detail", args=[prediction.pk])
    return Response(PredictionSerializer(prediction, context={"request": request}).data, status=code,
                    headers={"Location": request.build_absolute_uri(location)})


def _source(request, asked: str) -> str:
    """The source to record: the site's own pages (a browser session) may say "draw" or
    "upload"; a program with a token is always "api", whatever it sends, so history stays true."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        return asked
    return Prediction.Source.API


def _wait_seconds(request) -> float:
    raw = request.query_params.get("wait")
    if raw in (None, ""):
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({"wait": [_("A number of seconds from 0 to %(most)s.") % {"most": MAX_WAIT_SECONDS}]})
    if not 0 <= value <= MAX_WAIT_SECONDS:
        raise ValidationError({"wait": [_("A number of seconds from 0 to %(most)s.") % {"most": MAX_WAIT_SECONDS}]})
    return value


class PredictionBatch(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": BatchCreateSerializer, "application/json": BatchCreateSerializer},
        parameters=[idempotency_api.PARAMETER],
        responses={202: PredictionSerializer(many=True), 422: idempotency_api.KEY_REUSED},
    )
    def post(self, request):
        """Submit up to 100 images at once; all are accepted, or none is."""
        data = request.data
        if hasattr(data, "getlist"):  # multipart: repeated `images` fields
            data = {"images": data.getlist("images"), "mode": data.get("mode", Prediction.Mode.DIGIT)}
        incoming = BatchCreateSerializer(data=data)
        incoming.is_valid(raise_exception=True)

        def create() -> list[Prediction]:
            return _create(request, incoming.validated_data["images"], incoming.validated_data["mode"])

        def respond(predictions: list[Prediction]) -> Response:
            body = PredictionSerializer(predictions, many=True, context={"request": request}).data
            return Response(body, status=status.HTTP_202_ACCEPTED)

        return idempotency_api.answer_once(request, create, respond)


class PredictionDetail(APIView):
    @extend_schema(responses=PredictionSerializer)
    def get(self, request, pk):
        """One of your predictions."""
        prediction = selectors.prediction_for_user(request.user, pk)
        return Response(PredictionSerializer(prediction, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        """Delete one of your predictions and its image."""
        services.prediction_delete(prediction=selectors.prediction_for_user(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PredictionFeedback(APIView):
    @extend_schema(request=FeedbackSerializer, responses=PredictionSerializer)
    def post(self, request, pk):
        """Say what the right answer was (digits only; empty clears it)."""
        prediction = selectors.prediction_for_user(request.user, pk)
        incoming = FeedbackSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            services.prediction_give_feedback(prediction=prediction, label=incoming.validated_data["label"])
        except DjangoValidationError as exc:
            raise ValidationError({"label": exc.messages})
        return Response(PredictionSerializer(prediction, context={"request": request}).data)


class ActiveModel(APIView):
    @extend_schema(responses=inline_serializer("ActiveModel", {
        "version": serializers.CharField(),
        "test_accuracy": serializers.FloatField(),
        "per_class_accuracy": serializers.DictField(child=serializers.FloatField()),
        "trained_at": serializers.DateTimeField(),
    }))
    def get(self, request):
        """The model that answers predictions now, and how well it does on MNIST test."""
        try:
            metadata = load_metadata(selectors.serving_model_dir())
        except ArtifactError:
            return Response({"error": {"code": "model_unavailable", "message": _("The model is not available."),
                                       "fields": {}}}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({
            "version": metadata["version"],
            "test_accuracy": metadata.get("test_accuracy"),
            "per_class_accuracy": metadata.get("per_class_accuracy", {}),
            "trained_at": metadata.get("created_at"),
        })
