"""The API's shared pieces: URL routes under /api/v1/ and one error format.

Every error is ``{"error": {"code": ..., "message": ..., "fields": {...}}}`` with the
status that says what went wrong: 400 bad request, 401 unauthenticated, 404 not yours or
not there, 413 too large, 415 not an image, 422 an idempotency key reused with another body,
429 throttled, 503 try again later (busy).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError
from django.urls import path, re_path
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import APIException, NotFound, ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.api import ObtainToken, Register
from digitrec.middleware import RETRY_AFTER_SECONDS
from digitrec.uploads import RequestTooLarge
from recognition import api as recognition_api
from recognition import webhooks_api
from recognition.limits_api import Limits
from recognition.preview_api import Recognize

log = logging.getLogger(__name__)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(request):
    """Any address under /api/v1/ that no route takes."""
    raise NotFound(_("There is nothing at this address."))


app_name = "api"
urlpatterns = [
    path("auth/register/", Register.as_view(), name="register"),
    path("auth/token/", ObtainToken.as_view(), name="token"),
    path("predictions/", recognition_api.PredictionListCreate.as_view(), name="prediction-list"),
    path("predictions/batch/", recognition_api.PredictionBatch.as_view(), name="prediction-batch"),
    path("predictions/<uuid:pk>/", recognition_api.PredictionDetail.as_view(), name="prediction-detail"),
    path("predictions/<uuid:pk>/feedback/", recognition_api.PredictionFeedback.as_view(),
         name="prediction-feedback"),
    path("model/", recognition_api.ActiveModel.as_view(), name="model"),
    path("limits/", Limits.as_view(), name="limits"),
    path("webhooks/", webhooks_api.WebhookListCreate.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", webhooks_api.WebhookDetail.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/deliveries/", webhooks_api.WebhookDeliveries.as_view(), name="webhook-deliveries"),
    path("recognize/", Recognize.as_view(), name="recognize"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Last: any other address ending in / (such as an id that is not a UUID) is a 404 in
    # the API's format, not Django's HTML page. Without the slash, Django redirects first.
    re_path(r"^[\s\S]*/$", not_found, name="not-found"),
]


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(m) for m in (value if isinstance(value, list) else [value])]
                for key, value in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def exception_handler(exc, context):
    """DRF's handler, reshaped into the one error format; database outages become 503, a
    body over a size limit 413, and too many files or fields 400 (Django raises those while
    parsing; unmapped, they would be an HTML page and an ERROR in the log)."""
    if isinstance(exc, DatabaseError):
        log.error("database unavailable during an API request: %s", exc)
        return Response(
            {"error": {"code": "unavailable", "fields": {},
                       "message": _("The service is briefly unavailable; retry in %(seconds)d seconds.")
                       % {"seconds": RETRY_AFTER_SECONDS}}},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RequestTooLarge):  # MAX_REQUEST_BYTES, counted while a multipart body streams in
        exc = recognition_api.PayloadTooLarge(str(exc))
    elif isinstance(exc, RequestDataTooBig):  # Django's limit on a whole body, met before DRF parses it
        exc = recognition_api.PayloadTooLarge(
            _("The request is too large: at most %(most)s MB in all.")
            % {"most": number_format(settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20, 1)})
    elif isinstance(exc, TooManyFilesSent):
        exc = ParseError(_("Too many files: at most %(most)d in one request.")
                         % {"most": settings.DATA_UPLOAD_MAX_NUMBER_FILES},
                         code="too_many_files")
    elif isinstance(exc, TooManyFieldsSent):
        exc = ParseError(_("Too many fields: at most %(most)d in one request.")
                         % {"most": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
                         code="too_many_fields")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling (logged, no traceback shown)
    if isinstance(exc, ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()), [_("Invalid request.")])[0]
        body = {"code": "invalid", "message": first, "fields": fields}
    elif isinstance(exc, APIException):
        codes = exc.get_codes()
        body = {"code": codes if isinstance(codes, str) else "error", "message": str(exc.detail), "fields": {}}
    else:  # Http404 and PermissionDenied, already turned into responses by DRF
        code = "not_found" if response.status_code == 404 else "permission_denied"
        body = {"code": code, "message": str(response.data.get("detail", "")), "fields": {}}
    if response.status_code == 403 and not isinstance(exc, APIException):
        response.status_code = 404  # never confirm that someone else's object exists
    response.data = {"error": body}
    return response
