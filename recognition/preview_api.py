"""POST /api/v1/recognize/: a drawing recognised at once, with nothing stored (the live
answers of the draw page and the home page's try-it canvas). Open to anonymous visitors,
throttled per client IP for them and per user for everyone else."""
from __future__ import annotations

import base64
import io

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from PIL import Image
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from digitrec.throttling import RecognizeThrottle, RecognizeUserThrottle
from recognition import services
from recognition.api import ImageField, image_errors
from recognition.serializers import PredictionSerializer, StrictChoiceField
from recognition.models import Prediction

# What only a stored prediction has.
STORED_ONLY = {"id", "source", "created_at", "completed_at", "feedback_label", "image_url"}


class Busy(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "busy"
    default_detail = gettext_lazy("The recognisers are busy: try again in a moment.")
    wait = 1  # Retry-After


class PreviewRequestSerializer(serializers.Serializer):
    image = ImageField(help_text="A file (multipart), or base64 / a data: URL (JSON).")
    mode = StrictChoiceField(choices=Prediction.Mode.choices, default=Prediction.Mode.DIGIT)


class PreviewSerializer(PredictionSerializer):
    """A prediction's answer fields, for one that was never stored."""

    class Meta(PredictionSerializer.Meta):
        fields = [name for name in PredictionSerializer.Meta.fields if name not in STORED_ONLY]
        read_only_fields = fields

    def input_url(self, obj, index: int) -> str:
        # No row to serve it from: the picture travels in the answer, 4x enlarged like the stored one's.
        image = Image.fromarray(obj.model_input(index)).resize((112, 112), Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class Recognize(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [RecognizeThrottle, RecognizeUserThrottle]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"application/json": PreviewRequestSerializer, "multipart/form-data": PreviewRequestSerializer},
        responses={200: PreviewSerializer},
    )
    def post(self, request):
        """Recognise an image at once and store nothing: no prediction, no image, no history.
        The answer has a prediction's answer fields (`status` done or failed). Anyone may call
        it; it is throttled per client IP, or per user with a token or session."""
        incoming = PreviewRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        image, _name = incoming.validated_data["image"]
        if not isinstance(image, bytes):
            image.seek(0)
            image = image.read()
        with image_errors():
            try:
                prediction = services.prediction_preview(image=image, mode=incoming.validated_data["mode"])
            except services.PreviewBusy:
                raise Busy()
        return Response(PreviewSerializer(prediction, context={"request": request}).data)
