import logging
import smtplib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import verification
from accounts.models import EmailVerification, Profile

log = logging.getLogger(__name__)


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "") -> AbstractUser:
    """A new active user; the password is hashed. Validation is the caller's (a form's)."""
    return get_user_model().objects.create_user(username=username, email=email, password=password)


def token_get_or_create(*, user: AbstractUser) -> Token:
    """The user's API token, created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_rotate(*, user: AbstractUser) -> Token:
    """Replace the user's API token: the old key stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def email_verification_send(*, user: AbstractUser, request: HttpRequest) -> bool:
    """Mail a verification link for the user's present address; False if it could not be sent
    (the account works meanwhile, and the profile offers to send it again)."""
    if not user.email:
        return False
    query = urlencode({"token": verification.make_token(user)})
    # The token travels in the query string, which the access log leaves out (README).
    link = request.build_absolute_uri(f"{reverse('accounts:email_verify')}?{query}")
    context = {"user": user, "link": link, "days": verification.max_age_days()}
    try:
        send_mail(
            render_to_string("accounts/email_verification_subject.txt", context).strip(),
            render_to_string("accounts/email_verification_email.txt", context),
            None, [user.email],
        )
    except (smtplib.SMTPException, OSError, ValueError) as exc:  # ValueError: an address mail refuses
        log.warning("verification mail to user %s not sent: %s", user.pk, exc)
        return False
    return True


@transaction.atomic
def email_verify(*, token: str) -> AbstractUser:
    """Mark the address a link was sent to as verified; InvalidLink if the link is bad,
    expired, or for an address the account no longer has."""
    user_id, email = verification.read_token(token)
    user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
    if user is None or user.email.lower() != email.lower():
        raise verification.InvalidLink(_(
            "This verification link is for an address that is no longer on the account. "
            "Follow the link in the newest mail, or send a new one from your profile."))
    EmailVerification.objects.update_or_create(
        user=user, defaults={"email": user.email, "verified_at": timezone.now()})
    return user


def user_email_change(*, user: AbstractUser, email: str, request: HttpRequest) -> bool:
    """Set a new address (unverified until its link is followed) and mail the link; the
    result is email_verification_send's."""
    user.email = email
    user.save(update_fields=["email"])
    return email_verification_send(user=user, request=request)
def profile_language_set(*, user: AbstractUser, language: str) -> None:
    """Remember the user's language for their next logins ("" forgets it)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language: %(language)s.") % {"language": language},
                              code="invalid_language")
    Profile.objects.update_or_create(user=user, defaults={"language": language})


def profile_language(*, user: AbstractUser) -> str:
    """The language the user chose, or "" if none."""
    return Profile.objects.filter(user=user).values_list("language", flat=True).first() or ""
