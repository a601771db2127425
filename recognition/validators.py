"""What a label (the right answer to a prediction) may be: the one rule for the feedback
form, the API, the admin and retraining."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LABEL_MAX_LENGTH = 64
# [0-9], not \d or str.isdigit: those accept "²", "٣", "①" and "𝟟", which int() then
# refuses or reads as another digit.
_LABEL = re.compile("[0-9]+")


def validate_label(value: str) -> None:
    """Refuse anything but 1 to 64 ASCII digits, 0-9. Whether "" (no label) is allowed is
    the caller's choice, as for Django's field validators, which never see an empty value."""
    if not isinstance(value, str) or len(value) > LABEL_MAX_LENGTH or not _LABEL.fullmatch(value):
        raise ValidationError(_("The label must be digits only (0-9)."), code="invalid_label")
