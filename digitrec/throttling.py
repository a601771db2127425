"""Request throttles, counted per user or per client IP in the shared cache (CACHES).

The client IP is digitrec.client_ip's, so X-Forwarded-For counts only from a trusted proxy.
Counts are atomic (the cache's add and incr), so concurrent requests cannot all pass.

Every API response tells the client its budget in the IETF RateLimit fields
(draft-ietf-httpapi-ratelimit-headers-09): ``RateLimit-Policy: "user";q=3000;w=60`` (a
quota of 3000 requests in a window of 60 s, which opens at the first request) and
``RateLimit: "user";r=2999;t=60`` (2999 left; t seconds until the window ends and the
quota is whole again). Where several throttles count a request, the one with the fewest
requests left is reported.
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
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Policy": f'"{self.scope}";q={self.quota};w={self.window}',
                "RateLimit": f'"{self.scope}";r={self.remaining};t={self.reset}'}


class AtomicRateThrottle(throttling.SimpleRateThrottle):
    """DRF's throttle, counted with one atomic increment instead of DRF's read-then-write of a
    history, where a burst of concurrent requests all read the same history and all pass.

    The window opens at its first request and lasts the rate's period (Redis' INCR and
    EXPIRE pattern): at most ``num_requests`` pass in it, whatever the concurrency. The
    shared cache counts (digitrec.cache: ``window_count``), in one Redis round trip.
    """

    # Not DRF's key: a history list left there by DRF's throttle cannot be incremented.
    cache_format = "throttle_count_%(scope)s_%(ident)s"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.count, self.left = self.cache.window_count(self.key, self.duration)
        budget = Budget(self.scope, self.num_requests, self.duration, max(self.num_requests - self.count, 0),
                        math.ceil(self.left))
        target = getattr(request, "_request", request)  # DRF's request wraps Django's
        target.rate_budgets = [*getattr(target, "rate_budgets", []), budget]
        return self.count <= self.num_requests

    def wait(self) -> float:
        return self.left

    def budget_unspent(self, ident: str) -> Budget:
        """The budget of ``ident`` as it stands, without counting a request."""
        used, left = self.cache.window_peek(self.cache_format % {"scope": self.scope, "ident": ident})
        return Budget(self.scope, self.num_requests, self.duration, max(self.num_requests - used, 0),
                      math.ceil(left) if used else 0)


class UserThrottle(AtomicRateThrottle, throttling.UserRateThrottle):
    """Per signed-in user (per client IP for anyone else), on every API endpoint."""

    def get_ident(self, request) -> str:
        return client_ip(request)


class ClientIPThrottle(AtomicRateThrottle):
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


class RecognizeUserThrottle(AtomicRateThrottle, throttling.UserRateThrottle):
    """Previews by signed-in users, per user: one a stroke is more than the API's pace."""

    scope = "recognize_user"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # RecognizeThrottle counts them
        return super().get_cache_key(request, view)


class EmailVerificationThrottle(AtomicRateThrottle, throttling.UserRateThrottle):
    """Verification mails asked for by a signed-in user (resend, email change), per user."""

    scope = "email_verification"


def budget_of(request: HttpRequest) -> Budget:
    """The tightest budget the throttles counted this request against; for a request no
    throttle counted (a bad token, a body refused before any view), the client IP's budget
    under the per-user rate, read without counting the request."""
    budgets = getattr(request, "rate_budgets", None)
    if budgets:
        return min(budgets, key=lambda b: (b.remaining, -b.reset))
    return UserThrottle().budget_unspent(client_ip(request))


def throttle_posts(throttle_class: type[AtomicRateThrottle]) -> Callable:
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
