"""Reads for predictions (every lookup by id goes through ``prediction_for_user``) and for
the model versions: which artifact serves, and the files staff may see of one."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from ml.artifact import ArtifactError, load_metadata
from recognition.models import ModelVersion, Prediction, Webhook, WebhookDelivery


def predictions_for(user) -> QuerySet[Prediction]:
    """The user's own predictions, newest first; nobody sees anyone else's."""
    return Prediction.objects.filter(owner=user).order_by("-created_at")


def prediction_for_user(user, prediction_id) -> Prediction:
    """The user's prediction with this id, or 404 (also for someone else's: never 403,
    which would confirm that it exists)."""
    try:
        pk = uuid.UUID(str(prediction_id))
    except ValueError:
        raise Http404(_("No such prediction."))
    try:
        return predictions_for(user).get(pk=pk)
    except Prediction.DoesNotExist:
        raise Http404(_("No such prediction."))


def webhooks_for(user) -> QuerySet[Webhook]:
    """The user's webhooks, oldest first."""
    return Webhook.objects.filter(owner=user).order_by("created_at", "pk")


def webhook_for_user(user, webhook_id) -> Webhook:
    """The user's webhook with this id, or 404 (someone else's too)."""
    try:
        return webhooks_for(user).get(pk=int(webhook_id))
    except (ValueError, Webhook.DoesNotExist):
        raise Http404("No such webhook.")


def deliveries_for(webhook: Webhook) -> QuerySet[WebhookDelivery]:
    """A webhook's deliveries, newest first, with their attempts."""
    return webhook.deliveries.order_by("-created_at").prefetch_related("attempt_set")


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
    """The artifact that serves: the active ModelVersion's folder, unless an operator set
    ML_MODEL_DIR, which then serves instead.

    Asked for every inference batch, and read from the database at most once per
    SERVING_MODEL_CHECK_SECONDS, so an activation reaches every worker within that time;
    ml.inference.get_engine reloads when the folder changes. Raises ArtifactError when no
    version is active or its folder is gone (``migrate`` activates the shipped one), and
    DatabaseError when the database cannot say.
    """
    if settings.ML_MODEL_DIR:
        return Path(settings.ML_MODEL_DIR)
    active = _active_version_and_path()
    if active is None:
        raise ArtifactError("no model version is active: run `manage.py migrate`, or activate one in the admin")
    try:
        folder = artifact_dir(active[1])
    except ValueError:
        folder = None
    if folder is None or not folder.is_dir():
        raise ArtifactError(f"the active model {active[0]} has no folder {active[1]!r} in ML_ARTIFACTS_DIR")
    return folder


def model_version_plot(version: str, plot: str) -> Path:
    """The PNG ``plot`` ("training_curves", "confusion_matrix" or "reliability") of a
    registered version, or of the model in ML_MODEL_DIR; 404 for anything else. Only these
    file names are ever served, from a folder found by version name."""
    if plot not in ("training_curves", "confusion_matrix", "reliability"):
        raise Http404(_("No such plot."))
    row = ModelVersion.objects.filter(version=version).values_list("path", flat=True).first()
    if row is not None:
        try:
            folder = artifact_dir(row)
        except ValueError:
            raise Http404(_("No such model."))
    elif settings.ML_MODEL_DIR:
        folder = Path(settings.ML_MODEL_DIR)
        try:
            if load_metadata(folder, verify=False)["version"] != version:
                raise Http404(_("No such model."))
        except ArtifactError:
            raise Http404(_("No such model."))
    else:
        raise Http404(_("No such model."))
    path = folder / f"{plot}.png"
    if not path.is_file():
        raise Http404(_("No such plot."))
    return path
