from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Profile(models.Model):
    """What a person chose for themselves; made on first use (an account without one has
    chosen nothing yet)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True,
        help_text=_("The language of the pages after login; empty: the browser's."),
    )

    def __str__(self) -> str:
        return str(self.user)


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
