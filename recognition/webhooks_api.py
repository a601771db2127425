"""Webhooks in the API (/api/v1/webhooks/): register, list and delete your callback URLs,
and read what was delivered to each. The secret that signs the deliveries is in the answer
to the POST that creates the webhook, and never again."""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from recognition import selectors, webhooks
from recognition.models import Webhook, WebhookAttempt, WebhookDelivery


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "url", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"url": {"help_text": "An http:// or https:// URL at a public address."}}


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text=(
        "Signs every delivery (the DigitRec-Signature header). Shown only in this answer: keep it."))

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "response_code", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    prediction = serializers.UUIDField(source="prediction_id", read_only=True)
    next_attempt_at = serializers.SerializerMethodField()
    attempt_log = AttemptSerializer(source="attempt_set", many=True, read_only=True,
                                    help_text="Every POST made, oldest first.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "prediction", "status", "attempts", "next_attempt_at", "created_at", "finished_at",
                  "attempt_log"]

    def get_next_attempt_at(self, obj) -> str | None:
        if obj.status != WebhookDelivery.Status.PENDING:
            return None
        return serializers.DateTimeField().to_representation(obj.next_attempt_at)


class WebhookListCreate(ListAPIView):
    """Your webhooks, oldest first; and registering a new one."""

    serializer_class = WebhookSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Webhook.objects.none()
        return selectors.webhooks_for(self.request.user)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request):
        """Register a URL to be sent each of your predictions as it finishes (done or failed)."""
        incoming = WebhookSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            webhook = webhooks.webhook_create(owner=request.user, url=incoming.validated_data["url"])
        except DjangoValidationError as exc:
            raise ValidationError({"url": exc.messages})
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @extend_schema(responses=WebhookSerializer)
    def get(self, request, pk):
        """One of your webhooks (without its secret)."""
        return Response(WebhookSerializer(selectors.webhook_for_user(request.user, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        """Delete one of your webhooks: nothing more is sent to it."""
        webhooks.webhook_delete(webhook=selectors.webhook_for_user(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveries(ListAPIView):
    """What was sent to one of your webhooks, newest first: each delivery's status and every
    attempt's time, response code and error."""

    serializer_class = DeliverySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return selectors.deliveries_for(selectors.webhook_for_user(self.request.user, self.kwargs["pk"]))
