from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import Profile


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


def profile_language_set(*, user: AbstractUser, language: str) -> None:
    """Remember the user's language for their next logins ("" forgets it)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language: %(language)s.") % {"language": language},
                              code="invalid_language")
    Profile.objects.update_or_create(user=user, defaults={"language": language})


def profile_language(*, user: AbstractUser) -> str:
    """The language the user chose, or "" if none."""
    return Profile.objects.filter(user=user).values_list("language", flat=True).first() or ""
