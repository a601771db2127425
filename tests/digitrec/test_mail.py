"""Production's console mail backend never shows a password-reset link."""
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_reset_mail_on_the_production_console_shows_no_link(client, owner_email_verified, settings, capsys):
    settings.EMAIL_BACKEND = "digitrec.mail.EnvelopeConsoleBackend"

    client.post(reverse("accounts:password_reset"), {"email": "owner@example.com"})

    printed = capsys.readouterr().out
    assert "owner@example.com" in printed and "Reset your DigitRec password" in printed
    assert "/accounts/password/reset/" not in printed and "http" not in printed
