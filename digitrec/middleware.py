"""Answers for when the database cannot be reached."""
from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpResponse
from django.template.loader import render_to_string

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
