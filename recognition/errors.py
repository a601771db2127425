"""A failed prediction's error is stored in English, the catalog's msgid, and shown in the
reader's language. A message with numbers is stored filled in, so it is matched back to its
template and values to be translated (a worker has no reader's language to write it in)."""
from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop

# ml.pages.TooManyLines's message, as ml writes it (ml does not import Django).
TOO_MANY_LINES_MESSAGE = gettext_noop("The page has %(count)d lines; at most %(most)d are read. Send it in parts.")

FILLED_TEMPLATES = [TOO_MANY_LINES_MESSAGE]


def _pattern(template: str) -> re.Pattern:
    return re.compile(re.sub(r"%\\\((\w+)\\\)d", r"(?P<\1>\\d+)", re.escape(template)))


_PATTERNS = [(template, _pattern(template)) for template in FILLED_TEMPLATES]


def error_message(stored: str) -> str:
    """``stored`` (a Prediction's error) in the current language."""
    for template, pattern in _PATTERNS:
        if match := pattern.fullmatch(stored):
            return gettext(template) % {name: int(value) for name, value in match.groupdict().items()}
    return gettext(stored) if stored else ""
