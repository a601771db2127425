from django.conf import settings
from django.core.management.base import BaseCommand

from recognition import model_versions, selectors
from recognition.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Register every model artifact in ML_ARTIFACTS_DIR (folders with a valid metadata.json) "
        "as a model version that staff can activate in the admin. Safe to run again."
    )

    def handle(self, *args, **options):
        created = model_versions.model_versions_sync()
        for version in created:
            self.stdout.write(f"Registered {version.version} ({version.path}).")
        active = selectors.active_model_version()
        self.stdout.write(self.style.SUCCESS(
            f"{len(created)} new, {ModelVersion.objects.count()} registered. Serving: "
            + (f"{settings.ML_MODEL_DIR} (ML_MODEL_DIR overrides the active version)" if settings.ML_MODEL_DIR
               else active.version if active else "nothing (no version is active)")
        ))
