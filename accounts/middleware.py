"""A signed-in person's language follows them from browser to browser."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.services import profile_language, profile_language_set


def apply_profile_language(sender, request: HttpRequest, user, **kwargs) -> None:
    """Connected to user_logged_in. At login the saved language wins; with none saved, a
    language chosen before login (the switcher's cookie) is saved."""
    saved = profile_language(user=user)
    if saved:
        request.language_cookie = saved  # ProfileLanguageMiddleware sets it on the response
        return
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in dict(settings.LANGUAGES):
        profile_language_set(user=user, language=chosen)


class ProfileLanguageMiddleware:
    """Saves a signed-in user's choice of language (the language cookie that Django's
    set_language view sets) on their profile, and sets the cookie that login chose."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        name = settings.LANGUAGE_COOKIE_NAME
        language = getattr(request, "language_cookie", None)
        if language:
            response.set_cookie(
                name, language, max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
            return response
        user = getattr(request, "user", None)
        cookie = response.cookies.get(name)
        if cookie and cookie.value in dict(settings.LANGUAGES) and user is not None and user.is_authenticated:
            profile_language_set(user=user, language=cookie.value)
        return response
