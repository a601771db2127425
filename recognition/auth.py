"""Access for files the API links to (the submitted image, the 28x28 inputs)."""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def session_or_token_required(view):
    """A signed-in browser, or an API client's ``Authorization: Token`` header.

    An anonymous browser is sent to log in; a client with a bad token gets 401 JSON.
    """
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and "HTTP_AUTHORIZATION" in request.META:
            try:
                authenticated = TokenAuthentication().authenticate(request)
            except AuthenticationFailed:
                authenticated = None
            if authenticated is None:
                return JsonResponse({"error": {"code": "not_authenticated", "fields": {},
                                               "message": "Invalid or missing token."}}, status=401)
            request.user = authenticated[0]
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
