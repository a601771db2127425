"""Reads for predictions (every lookup by id goes through ``prediction_for_user``) and for
the model versions: which artifact serves, and the files staff may see of one."""
from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import Http404

from ml.artifact import ArtifactError, load_metadata
from recognition.models import ModelVersion, Prediction

log = logging.getLogger(__name__)


def predictions_for(user) -> QuerySet[Prediction]:
    """The user's own predictions, newest first; nobody sees anyone else's."""
    return Prediction.objects.filter(owner=user).order_by("-created_at")


def prediction_for_user(user, prediction_id) -> Prediction:
    """The user's prediction with this id, or 404 (also for someone else's: never 403,
    which would confirm that it exists)."""
    try:
        pk = uuid.UUID(str(prediction_id))
    except ValueError:
        raise Http404("No such prediction.")
    try:
        return predictions_for(user).get(pk=pk)
    except Prediction.DoesNotExist:
        raise Http404("No such prediction.")


def artifact_dir(name: str) -> Path:
    """The artifact folder ``name`` under ML_ARTIFACTS_DIR; ValueError for anything that
    would lead elsewhere (``..``, an absolute path, a link out of the folder)."""
    base = Path(settings.ML_ARTIFACTS_DIR).resolve()
    folder = (base / name).resolve()
    if not name or folder == base or not folder.is_relative_to(base):
        raise ValueError(f"{name!r} is not a folder inside ML_ARTIFACTS_DIR")
    return folder


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


_active_checked: tuple[float, tuple[str, str] | None] | None = None  # (when, active version)


def forget_active_model_version() -> None:
    """Make the next ``serving_model_dir`` ask the database (after an activation)."""
    global _active_checked
    _active_checked = None


def _active_version_and_path() -> tuple[str, str] | None:
    """The active version's (version, path), read at most once per
    SERVING_MODEL_CHECK_SECONDS per process: a worker asks for every batch, and the query
    would cost it more than the model call."""
    global _active_checked
    now = time.monotonic()
    checked = _active_checked
    if checked is None or now - checked[0] >= settings.SERVING_MODEL_CHECK_SECONDS:
        active = ModelVersion.objects.filter(is_active=True).values_list("version", "path").first()
        checked = _active_checked = (now, active)
    return checked[1]


def serving_model_dir() -> Path:
    """The artifact that serves: the active ModelVersion's folder, else settings.ML_MODEL_DIR.

    Asked for every inference batch, and read from the database at most once per
    SERVING_MODEL_CHECK_SECONDS (1 s), so an activation reaches every worker within a
    second; ml.inference.get_engine reloads when the folder changes.
    """
    try:
        active = _active_version_and_path()
    except DatabaseError as exc:
        # A worker starting while the database is down, or a command run before migrate:
        # serve the configured model; the next batch asks again.
        log.warning("cannot read the active model version (%s); serving ML_MODEL_DIR", exc)
        return Path(settings.ML_MODEL_DIR)
    if active is None:
        return Path(settings.ML_MODEL_DIR)
    try:
        folder = artifact_dir(active[1])
    except ValueError:
        folder = None
    if folder is None or not folder.is_dir():
        # Serving on beats failing every prediction; the recorded model_version shows it.
        log.error("active model %s has no folder %r in ML_ARTIFACTS_DIR; serving ML_MODEL_DIR",
                  active[0], active[1])
        return Path(settings.ML_MODEL_DIR)
    return folder


def model_version_plot(version: str, plot: str) -> Path:
    """The PNG ``plot`` ("training_curves" or "confusion_matrix") of a registered version, or
    of the fallback serving model; 404 for anything else. Only these two file names are ever
    served, from a folder found by version name."""
    if plot not in ("training_curves", "confusion_matrix"):
        raise Http404("No such plot.")
    row = ModelVersion.objects.filter(version=version).values_list("path", flat=True).first()
    if row is not None:
        try:
            folder = artifact_dir(row)
        except ValueError:
            raise Http404("No such model.")
    else:
        folder = Path(settings.ML_MODEL_DIR)
        try:
            if load_metadata(folder, verify=False)["version"] != version:
                raise Http404("No such model.")
        except ArtifactError:
            raise Http404("No such model.")
    path = folder / f"{plot}.png"
    if not path.is_file():
        raise Http404("No such plot.")
    return path
