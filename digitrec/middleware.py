"""Answers given before a view runs: a database that cannot be reached, a request body
over the size limit."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from digitrec.throttling import budget_of
from digitrec.uploads import request_too_large_message

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """A page that cannot reach the database answers 503 with a retry hint, not a 500.

    (The API has the same rule in its exception handler, in its JSON error format.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        log.error("database unavailable for %s: %s", request.path, exception)
        body = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
        return HttpResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class RequestSizeLimitMiddleware:
    """A request body over MAX_REQUEST_BYTES is refused from its Content-Length, before
    anything reads it or touches the database: 413 in the API's error format under /api/,
    a page saying so elsewhere. (A body without Content-Length is read as empty by Django;
    one longer than it says is counted by digitrec.uploads.TotalSizeUploadHandler.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= settings.MAX_REQUEST_BYTES:
            return self.get_response(request)
        message = request_too_large_message()
        if request.path.startswith("/api/"):
            return JsonResponse({"error": {"code": "too_large", "message": message, "fields": {}}}, status=413)
        return HttpResponse(render_to_string("413.html", {"message": message}, request), status=413)


class RateLimitHeadersMiddleware:
    """Every API response carries the client's throttle budget (digitrec.throttling);
    first in the chain, so that answers given before any view (413) carry it too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            for name, value in budget_of(request).headers().items():
                response[name] = value
        return response
