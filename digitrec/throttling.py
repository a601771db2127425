"""Request throttles, counted per user or per client IP in the shared cache (CACHES).

The client IP is digitrec.client_ip's, so X-Forwarded-For counts only from a trusted proxy.

Every API response tells the client its budget in the IETF RateLimit fields
(draft-ietf-httpapi-ratelimit-headers-09): ``RateLimit-Policy: "user";q=3000;w=60`` (a
quota of 3000 requests in a sliding window of 60 s) and ``RateLimit: "user";r=2999;t=60``
(2999 left; t seconds until the oldest counted request leaves the window). Where several
throttles count a request, the one with the fewest requests left is reported.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import throttling

from digitrec.client_ip import client_ip


@dataclass(frozen=True)
class Budget:
    """What one throttle allows a client and what is left of it."""

    scope: str
    quota: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until one more request is allowed

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Policy": f'"{self.scope}";q={self.quota};w={self.window}',
                "RateLimit": f'"{self.scope}";r={self.remaining};t={self.reset}'}


def _budget(scope: str, quota: int, window: int, history: list[float], now: float) -> Budget:
    history = [at for at in history if at > now - window]
    reset = math.ceil(history[-1] + window - now) if history else 0
    return Budget(scope, quota, window, max(quota - len(history), 0), max(reset, 0))


class ReportsBudget:
    """A throttle that leaves its budget on the request, for the RateLimit fields."""

    def allow_request(self, request, view) -> bool:
        self.key = None
        allowed = super().allow_request(request, view)
        if self.key is not None:
            budget = _budget(self.scope, self.num_requests, self.duration, self.history, self.now)
            target = getattr(request, "_request", request)  # DRF's request wraps Django's
            target.rate_budgets = [*getattr(target, "rate_budgets", []), budget]
        return allowed


def budget_of(request: HttpRequest) -> Budget:
    """The tightest budget the throttles counted this request against; for a request no
    throttle counted (a bad token, a body refused before any view), the client IP's budget
    under the per-user rate, read without counting the request."""
    budgets = getattr(request, "rate_budgets", None)
    if budgets:
        return min(budgets, key=lambda b: (b.remaining, -b.reset))
    throttle = UserThrottle()
    key = throttle.cache_format % {"scope": throttle.scope, "ident": client_ip(request)}
    return _budget(throttle.scope, throttle.num_requests, throttle.duration, throttle.cache.get(key, []),
                   throttle.timer())


class UserThrottle(ReportsBudget, throttling.UserRateThrottle):
    """Per signed-in user (per client IP for anyone else), on every API endpoint."""

    def get_ident(self, request) -> str:
        return client_ip(request)


class ClientIPThrottle(ReportsBudget, throttling.SimpleRateThrottle):
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


class RecognizeUserThrottle(ReportsBudget, throttling.UserRateThrottle):
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
