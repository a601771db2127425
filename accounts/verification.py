"""Signed, expiring email-verification links (django.core.signing, like Django's own
password-reset tokens but with nothing stored until the link is followed)."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core import signing
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

SALT = "accounts.email-verification"


class InvalidLink(Exception):
    """A verification link that cannot be used; ``str()`` says why, for the page."""


def make_token(user: AbstractUser) -> str:
    """A token naming the user and the address it was sent to, with the time it was made."""
    return signing.dumps({"user": user.pk, "email": user.email}, salt=SALT)


def read_token(token: str) -> tuple[int, str]:
    """(user id, email) of a sound, unexpired token; InvalidLink otherwise."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidLink(ngettext(
            "This verification link has expired (links work for %(days)d day). "
            "Log in and send a new one from your profile.",
            "This verification link has expired (links work for %(days)d days). "
            "Log in and send a new one from your profile.", max_age_days()) % {"days": max_age_days()}) from None
    except signing.BadSignature:
        raise InvalidLink(_("This verification link is not valid: it may be incomplete. "
                            "Copy the whole link from the mail, or send a new one from your profile.")) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int) \
            or not isinstance(payload.get("email"), str):
        raise InvalidLink(_("This verification link is not valid."))
    return payload["user"], payload["email"]


def max_age_days() -> int:
    return settings.EMAIL_VERIFICATION_MAX_AGE // 86400
