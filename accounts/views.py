from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.forms import (EmailChangeForm, LoginForm, PasswordChangeForm, RegisterForm, SetPasswordForm,
                            WebhookForm)
from accounts.selectors import email_is_verified
from accounts.services import (email_verification_send, email_verify, token_get_or_create, token_rotate,
                               user_create, user_email_change)
from accounts.verification import InvalidLink
from digitrec.throttling import AuthThrottle, EmailVerificationThrottle, throttle_posts
from recognition import selectors, webhooks

RECENT_DELIVERIES = 5


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
            _say_if_mailed(request, email_verification_send(user=user, request=request), user.email)
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


def _say_if_mailed(request: HttpRequest, sent: bool, email: str) -> None:
    if sent:
        messages.info(request, _("We sent a link to %(email)s: follow it to verify your address.") % {"email": email})
    elif email:
        messages.warning(request, _("We could not send the verification mail just now. "
                                    "Send it again from your profile."))


@never_cache  # the page shows the token
@login_required
def profile(request: HttpRequest, email_form: EmailChangeForm | None = None) -> HttpResponse:
    # A webhook just added (webhook_add): its secret is shown on this one view of the page.
    new_id = request.session.pop(NEW_WEBHOOK_SESSION_KEY, None)
    new_webhook = next((hook for hook in selectors.webhooks_for(request.user) if hook.pk == new_id), None)
    return _render_profile(request, email_form=email_form, new_webhook=new_webhook,
                           status=400 if email_form else 200)


def _render_profile(request: HttpRequest, *, email_form: EmailChangeForm | None = None,
                    form: WebhookForm | None = None, new_webhook=None, status: int = 200) -> HttpResponse:
    hooks = [(hook, selectors.deliveries_for(hook)[:RECENT_DELIVERIES])
             for hook in selectors.webhooks_for(request.user)]
    return render(request, "accounts/profile.html", {
        "token": token_get_or_create(user=request.user), "email_verified": email_is_verified(request.user),
        "email_form": email_form or EmailChangeForm(user=request.user),
        "webhooks": hooks, "webhook_form": form or WebhookForm(), "new_webhook": new_webhook,
    }, status=status)


NEW_WEBHOOK_SESSION_KEY = "new_webhook_id"


@login_required
@require_POST
def webhook_add(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            webhook = webhooks.webhook_create(owner=request.user, url=form.cleaned_data["url"])
        except ValidationError as exc:
            form.add_error("url", exc)
        else:
            # Post/redirect/get: a refresh of the page that shows the secret adds nothing.
            request.session[NEW_WEBHOOK_SESSION_KEY] = webhook.pk
            return redirect(reverse("accounts:profile") + "#webhooks")
    return _render_profile(request, form=form, status=400)


@login_required
@require_POST
@throttle_posts(EmailVerificationThrottle)
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, user=request.user)
    if not form.is_valid():
        return profile(request, email_form=form)
    email = form.cleaned_data["email"]
    _say_if_mailed(request, user_email_change(user=request.user, email=email, request=request), email)
    return redirect("accounts:profile")


@login_required
@require_POST
@throttle_posts(EmailVerificationThrottle)
def email_verification_resend(request: HttpRequest) -> HttpResponse:
    if email_is_verified(request.user):
        messages.info(request, _("Your email address is already verified."))
    else:
        _say_if_mailed(request, email_verification_send(user=request.user, request=request),
                       request.user.email)
    return redirect("accounts:profile")


@never_cache
def verify_email(request: HttpRequest) -> HttpResponse:
    """The mailed link (the token in the query string): verifies, then sends on to the profile
    without the token in the address."""
    try:
        user = email_verify(token=request.GET.get("token", ""))
    except InvalidLink as exc:
        return render(request, "accounts/email_verify_failed.html", {"reason": str(exc)}, status=400)
    messages.success(request, _("Thank you: %(email)s is verified.") % {"email": user.email})
    return redirect("accounts:profile")


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    webhooks.webhook_delete(webhook=selectors.webhook_for_user(request.user, pk))
    messages.success(request, _("The webhook was deleted: nothing more is sent to it."))
    return redirect("accounts:profile")


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
    """Django's, with the mailed token in the query string (which the access log leaves out)
    instead of the path; as in Django, it is then kept in the session and the browser is sent
    on to the form at .../set-password/."""

    form_class = SetPasswordForm

    def dispatch(self, request, *args, **kwargs):
        if "token" in kwargs:  # the set-password step
            return super().dispatch(request, *args, **kwargs)
        kwargs["token"] = request.GET.get("token", "")
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 302:  # a good token, now in the session
            return redirect("accounts:password_reset_form", uidb64=kwargs["uidb64"])
        return response
