from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from rest_framework.authtoken.models import Token


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
