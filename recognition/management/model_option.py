"""The --model option of the commands that work on one artifact (evaluate_model,
calibrate_model): an artifact folder, by default the serving model's."""
from pathlib import Path

from django.core.management.base import CommandError
from django.db import DatabaseError

from recognition.selectors import serving_model_dir


def add_model_option(parser) -> None:
    parser.add_argument("--model", type=Path, default=None, help="artifact folder (default: the serving model)")


def model_dir(model: Path | None) -> Path:
    """The folder the --model option names, or the serving model's (the database's active
    version: a database that was never migrated gets a clear error, not a traceback)."""
    if model is not None:
        return Path(model)
    try:
        return serving_model_dir()
    except DatabaseError as exc:
        raise CommandError(f"Cannot find the serving model ({exc}); run `manage.py migrate` first, "
                           "or name an artifact with --model.") from exc
