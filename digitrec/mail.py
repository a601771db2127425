"""Mail backends of our own."""
from django.core.mail.backends import console


class EnvelopeConsoleBackend(console.EmailBackend):
    """The console backend of production: who got which mail, never the body, which may
    hold a password-reset link."""

    def write_message(self, message) -> None:
        self.stream.write(
            f"Mail to {', '.join(message.recipients())}: {message.subject!r} "
            "(body not shown in production)\n"
        )
