"""The API's limits (/api/v1/limits/), so that a client can size its batches to this server."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from recognition.api import MAX_BATCH, MAX_WAIT_SECONDS


class Limits(APIView):
    @extend_schema(responses=inline_serializer("Limits", {
        "max_batch_images": serializers.IntegerField(help_text="Images in one POST /predictions/batch/."),
        "max_upload_bytes": serializers.IntegerField(help_text="Bytes of one image."),
        "max_request_bytes": serializers.IntegerField(help_text="Bytes of a whole request body."),
        "max_wait_seconds": serializers.IntegerField(help_text="The most `?wait=` may ask for."),
        "idempotency_key_hours": serializers.IntegerField(help_text="How long an Idempotency-Key is kept."),
    }))
    def get(self, request):
        """This server's limits on uploads, batches, waiting and idempotency keys."""
        return Response({
            "max_batch_images": MAX_BATCH,
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_request_bytes": settings.MAX_REQUEST_BYTES,
            "max_wait_seconds": MAX_WAIT_SECONDS,
            "idempotency_key_hours": settings.IDEMPOTENCY_KEY_HOURS,
        })
