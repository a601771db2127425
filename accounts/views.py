from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.forms import LoginForm, PasswordChangeForm, RegisterForm, SetPasswordForm
from accounts.services import token_get_or_create, token_rotate, user_create
from digitrec.throttling import AuthThrottle, throttle_posts


def _safe_next(request: HttpRequest) -> str:
    """The ?next= target if it stays on this site, else ""."""
    url = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


@throttle_posts(AuthThrottle)
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except IntegrityError:
            # Someone took the name between the form's check and the insert.
            form.add_error("username", _("A user with that username already exists."))
        else:
            # Two backends are configured, so login() must be told which one vouches.
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome, %(username)s! Your account is ready.") % {"username": user.username})
            return redirect(_safe_next(request) or "home")
    return render(request, "accounts/register.html", {"form": form, "next": _safe_next(request)})


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' answer to a locked-out login: the login page, saying why and for how
    long; JSON in the API's error format for an API client."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        message = _("Too many failed attempts: this account is locked for %(minutes)d minutes.") % {"minutes": minutes}
        return JsonResponse({"error": {"code": "locked_out", "message": message, "fields": {}}},
                            status=429, headers={"Retry-After": str(minutes * 60)})
    context = {
        "form": LoginForm(request),
        "locked_out_minutes": minutes,
        "next": _safe_next(request),
    }
    return render(request, "accounts/login.html", context, status=429)


# What the login page says it is for, when it was sent there from a page that needs it.
PAGES_NEEDING_LOGIN = {"recognition:draw": gettext_lazy("Draw"), "recognition:upload": gettext_lazy("Upload"),
                       "recognition:history": gettext_lazy("History"), "recognition:detail": gettext_lazy("History"),
                       "accounts:profile": gettext_lazy("your profile")}


class LoginView(auth_views.LoginView):
    """Django's, saying which page asked for the login ("Please log in to use Draw")."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            match = resolve(urlsplit(context.get("next") or "/").path)
        except Resolver404:
            match = None
        if match and not self.request.user.is_authenticated:
            context["next_page_name"] = PAGES_NEEDING_LOGIN.get(match.view_name, "")
        return context


class LogoutView(auth_views.LogoutView):
    """Django's (POST only), saying that it worked."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have been logged out."))
        return response


@never_cache  # the page shows the token
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    token = token_get_or_create(user=request.user)
    return render(request, "accounts/profile.html", {"token": token})


@never_cache
def token(request: HttpRequest) -> JsonResponse:
    """The signed-in user's API token, for the API docs page to fill in (same origin only:
    no CORS headers, so no other site can read it); null for anyone else."""
    if not request.user.is_authenticated:
        return JsonResponse({"token": None})
    return JsonResponse({"token": token_get_or_create(user=request.user).key})


@login_required
@require_POST
def rotate_token(request: HttpRequest) -> HttpResponse:
    token_rotate(user=request.user)
    messages.success(request, _("Your API token was replaced. The old token no longer works."))
    return redirect("accounts:profile")


class _TokenRotatingMixin:
    """Once the password is set, the API token is replaced: whoever had the old password
    may have it."""

    def form_valid(self, form):
        response = super().form_valid(form)
        token_rotate(user=form.user)
        return response


class PasswordChangeView(_TokenRotatingMixin, auth_views.PasswordChangeView):
    form_class = PasswordChangeForm


class PasswordResetConfirmView(_TokenRotatingMixin, auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm
