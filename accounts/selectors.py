from django.contrib.auth.models import AbstractUser

from accounts.models import EmailVerification


def email_is_verified(user: AbstractUser) -> bool:
    """Whether the user's present address is the one they proved to own."""
    return bool(user.email) and EmailVerification.objects.filter(
        user=user, email__iexact=user.email).exists()
