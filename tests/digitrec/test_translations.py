"""The Tamil and Hindi catalogs: complete (every message of the code translated, nothing
fuzzy), valid for GNU gettext, and compiled into the committed .mo files."""
import ast
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0])
CATALOGS = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
MSGFMT = shutil.which("msgfmt")


def _need_gettext() -> None:
    if MSGFMT is None:
        pytest.fail("These tests need GNU gettext's msgfmt: apt-get install -y gettext (`make test` does this).",
                    pytrace=False)


def _msgids(po: Path) -> set[str]:
    """The msgids of a catalog, translated or not (the header and obsolete entries left out)."""
    msgids, current = set(), None
    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        if current is not None and line.startswith('"'):
            current += ast.literal_eval(line)
            continue
        if current:
            msgids.add(current)
        current = ast.literal_eval(line[len("msgid "):]) if line.startswith("msgid ") else None
    return msgids


def test_both_languages_have_both_catalogs():
    assert [str(po.relative_to(LOCALE)) for po in CATALOGS] == [
        "hi/LC_MESSAGES/django.po", "hi/LC_MESSAGES/djangojs.po",
        "ta/LC_MESSAGES/django.po", "ta/LC_MESSAGES/djangojs.po",
    ]


@pytest.mark.parametrize("po", CATALOGS, ids=lambda po: str(po.relative_to(LOCALE)))
def test_every_message_is_translated_and_valid(po, tmp_path):
    _need_gettext()
    result = subprocess.run([MSGFMT, "--check", "--statistics", "-o", str(tmp_path / "out.mo"), str(po)],
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr  # --check: placeholders and plural forms match
    assert re.fullmatch(r"\d+ translated messages?\.\n", result.stderr), result.stderr  # no fuzzy, none untranslated


@pytest.mark.parametrize("po", CATALOGS, ids=lambda po: str(po.relative_to(LOCALE)))
def test_the_committed_mo_is_compiled_from_the_po(po, tmp_path):
    _need_gettext()
    fresh = tmp_path / "fresh.mo"
    subprocess.run([MSGFMT, "-o", str(fresh), str(po)], check=True)

    with po.with_suffix(".mo").open("rb") as committed, fresh.open("rb") as compiled:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(compiled)._catalog, (
            "locale/ is out of date: run `make messages`")


def test_the_catalogs_hold_every_message_of_the_code(tmp_path):
    """makemessages, run on a copy of the code, finds no message the catalogs lack."""
    _need_gettext()
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "code"
    shutil.copytree(base, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "node_modules", "__pycache__", ".pytest_cache", "locale", "tests", "benchmarks",
        "scripts", "vendor", "artifacts", "docs", "*.png", "*.keras"))
    (copy / "locale").mkdir()
    for domain in ("django", "djangojs"):
        subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "ta", "-d", domain, "--no-location",
                        "--ignore=locale"], cwd=copy, check=True, capture_output=True)

        extracted = _msgids(copy / "locale" / "ta" / "LC_MESSAGES" / f"{domain}.po")
        for language in ("ta", "hi"):
            catalog = _msgids(LOCALE / language / "LC_MESSAGES" / f"{domain}.po")
            assert extracted - catalog == set(), f"{language} {domain}: not translated yet; run `make messages`"
            assert catalog - extracted == set(), f"{language} {domain}: no longer in the code"
