from django.conf import settings
from django.db import models
from django.utils import timezone


class EmailVerification(models.Model):
    """The address a user proved to own by following a mailed link.

    The account's email counts as verified only while it equals this address, so any change
    of ``User.email`` (profile, admin, shell) needs a new verification without a hook.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="email_verification")
    email = models.EmailField(max_length=254)
    verified_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.email} (verified {self.verified_at:%Y-%m-%d})"
