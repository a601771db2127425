"""What the language tests share: which script a page is written in, and the English left
in it."""
import re
from html.parser import HTMLParser

TAMIL = re.compile(r"[\u0B80-\u0BFF]")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
SCRIPTS = {"ta": TAMIL, "hi": DEVANAGARI}

# Words that stay as they are in every language: names, formats, code and the language
# switcher's "English".
UNTRANSLATED = {
    "DigitRec", "API", "REST", "MNIST", "PNG", "JPEG", "GIF", "BMP", "WebP", "CSV", "URL", "JSON", "HTTP",
    "Authorization", "Token", "Authorize", "English", "Django", "Keras", "TensorFlow", "Bootstrap", "SQLite",
    "PostgreSQL", "Redis", "Celery", "make", "run", "stack", "Security", "ML_MODEL_DIR", "YYYY", "MM", "DD",
    "Ctrl", "cnn", "framework", "and",
}


class _VisibleText(HTMLParser):
    """The text a person reads or hears: text nodes (not scripts or styles) and the
    alt, title, aria-label and placeholder attributes."""

    ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in self.ATTRIBUTES and value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def english_words(html: str, *, allowed: set[str] = frozenset()) -> set[str]:
    """Latin-script words of three letters or more that a translated page should not have."""
    words = set(re.findall(r"[A-Za-z][A-Za-z_]{2,}", visible_text(html)))
    return {w for w in words if w not in UNTRANSLATED and w not in allowed}
