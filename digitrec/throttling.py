"""Request throttles, counted per user or per client IP in the shared cache (CACHES).

The client IP is digitrec.client_ip's, so X-Forwarded-For counts only from a trusted proxy.
Counts are atomic (the cache's add and incr), so concurrent requests cannot all pass.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import throttling

from digitrec.client_ip import client_ip


class AtomicRateThrottle(throttling.SimpleRateThrottle):
    """DRF's throttle, counted with one atomic increment instead of DRF's read-then-write of a
    history, where a burst of concurrent requests all read the same history and all pass.

    The window opens at its first request and lasts the rate's period (Redis' INCR and
    EXPIRE pattern): at most ``num_requests`` pass in it, whatever the concurrency. The add
    and incr of Redis and of local memory (the embedded mode's one process) are atomic.
    """

    # Not DRF's key: a history list left there by DRF's throttle cannot be incremented.
    cache_format = "throttle_count_%(scope)s_%(ident)s"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self._count() <= self.num_requests

    def _count(self) -> int:
        """This request's number in its window, the window opened if there is none."""
        for _ in range(2):
            if self.cache.add(self.key, 1, self.duration):
                self.cache.set(f"{self.key}:ends", self.timer() + self.duration, self.duration)
                return 1
            try:
                count = self.cache.incr(self.key)
            except ValueError:  # the window ended between add and incr: open the next one
                continue
            if count == 1:
                # Redis' incr recreates, without an expiry, a key that expired between its
                # EXISTS and INCR: give it one.
                self.cache.touch(self.key, self.duration)
            return count
        return 1

    def wait(self) -> float:
        ends = self.cache.get(f"{self.key}:ends")
        return max(ends - self.timer(), 0.0) if ends is not None else float(self.duration)


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
