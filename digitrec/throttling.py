"""Request throttles, counted per user or per client IP in the shared cache (CACHES).

The client IP is digitrec.client_ip's, so X-Forwarded-For counts only from a trusted proxy.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import throttling

from digitrec.client_ip import client_ip


class UserThrottle(throttling.UserRateThrottle):
    """Per signed-in user (per client IP for anyone else), on every API endpoint."""

    def get_ident(self, request) -> str:
        return client_ip(request)


class ClientIPThrottle(throttling.SimpleRateThrottle):
    """Per client IP, whoever is signed in."""

    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthThrottle(ClientIPThrottle):
    """Sign-ups, token requests and password resets, on the API and the pages."""

    scope = "auth"


class RecognizeThrottle(ClientIPThrottle):
    """Previews (POST /api/v1/recognize/) by anonymous visitors, per client IP."""

    scope = "recognize"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None  # RecognizeUserThrottle counts them
        return super().get_cache_key(request, view)


class RecognizeUserThrottle(throttling.UserRateThrottle):
    """Previews by signed-in users, per user: one a stroke is more than the API's pace."""

    scope = "recognize_user"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # RecognizeThrottle counts them
        return super().get_cache_key(request, view)


def throttle_posts(throttle_class: type[ClientIPThrottle]) -> Callable:
    """A page view's POSTs counted by ``throttle_class``; past its rate, a 429 page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST":
                throttle = throttle_class()
                if not throttle.allow_request(request, None):
                    seconds = math.ceil(throttle.wait() or 1)
                    response = render(request, "429.html", {"retry_after": seconds}, status=429)
                    response["Retry-After"] = str(seconds)
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
