"""Model versions: registering the artifacts found under ML_ARTIFACTS_DIR, and choosing the
one that serves. The active row is the only answer to "which model serves" (unless an
operator sets ML_MODEL_DIR; see ``selectors.serving_model_dir``)."""
from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ml.artifact import ArtifactError, load_metadata
from recognition import selectors
from recognition.models import ModelVersion

log = logging.getLogger(__name__)


def model_versions_sync() -> list[ModelVersion]:
    """Register every artifact folder under ML_ARTIFACTS_DIR whose metadata.json is valid and
    return the newly registered ones. Idempotent; links are skipped, and a known version
    keeps its activation and held-out figures."""
    base = Path(settings.ML_ARTIFACTS_DIR)
    created = []
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        if folder.is_symlink() or not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            metadata = load_metadata(folder)
        except ArtifactError as exc:
            log.warning("not registering %s: %s", folder, exc)
            continue
        trained_at = parse_datetime(str(metadata.get("created_at", "")))
        fields = {"path": folder.name, "metadata": metadata, "test_accuracy": metadata.get("test_accuracy"),
                  "trained_at": trained_at}
        known = ModelVersion.objects.filter(version=metadata["version"]).first()
        if known is None:
            created.append(ModelVersion.objects.create(version=metadata["version"], **fields))
        elif known.path != folder.name and _artifact_exists(known.path):
            log.warning("not registering %s: version %s is already %s", folder, known.version, known.path)
        else:
            ModelVersion.objects.filter(pk=known.pk).update(**fields)
    return created


def _artifact_exists(name: str) -> bool:
    try:
        return selectors.artifact_dir(name).is_dir()
    except ValueError:
        return False


def model_versions_install() -> ModelVersion | None:
    """Register the artifacts and, when no version is active, activate the newest valid one,
    so a fresh install serves its shipped model at once. Run after every ``migrate``.
    Returns the version it activated, if any."""
    model_versions_sync()
    if ModelVersion.objects.filter(is_active=True).exists():
        return None
    for newest in ModelVersion.objects.order_by(F("trained_at").desc(nulls_last=True), "-registered_at"):
        try:
            return model_version_activate(version=newest)
        except ValidationError as exc:  # its folder is gone or corrupt: try the next
            log.warning("not activating %s: %s", newest.version, exc.messages[0])
    return None


def model_version_activate(*, version: ModelVersion | str, by=None) -> ModelVersion:
    """Serve this version from the next inference batch on, everywhere; any other version
    stops being active in the same transaction. Refuses a version whose artifact is missing
    or corrupt."""
    name = version.version if isinstance(version, ModelVersion) else version
    with transaction.atomic():
        # Lock every row (a handful): two activations at once run one after the other
        # instead of colliding on the one-active constraint.
        rows = {row.version: row for row in ModelVersion.objects.select_for_update().order_by("pk")}
        row = rows.get(name)
        if row is None:
            raise ValidationError(_("No registered model version %(name)s.") % {"name": name},
                                  code="unknown_version")
        try:
            load_metadata(selectors.artifact_dir(row.path))
        except (ArtifactError, ValueError) as exc:
            raise ValidationError(_("Cannot activate %(name)s: %(error)s") % {"name": name, "error": exc},
                                  code="bad_artifact") from exc
        ModelVersion.objects.filter(is_active=True).exclude(pk=row.pk).update(is_active=False)
        row.is_active = True
        row.activated_at = timezone.now()
        row.activated_by = by
        row.save(update_fields=["is_active", "activated_at", "activated_by"])
    selectors.forget_active_model_version()  # this process serves it at once; others within a second
    log.info("model %s activated by %s", name, by or "a command")
    return row
