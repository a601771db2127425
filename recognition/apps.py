from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = _("Recognition")

    def ready(self) -> None:
        # How predictions travel is decided here, once per process, and handed on; the
        # transport is given what to send and run, so it imports neither tasks nor runs.
        from django.conf import settings

        from ml import decoding
        from recognition import runs, tasks, transport, webhooks

        decoding.set_max_concurrent_decodes(settings.MAX_CONCURRENT_DECODES)

        transport.install(transport.from_settings(transport.Work(
            task=tasks.run_predictions, run=tasks.run, requeue=runs.predictions_requeue_stale,
            preview_task=tasks.run_preview, preview=runs.preview_run,
            deliver_task=tasks.deliver_webhook, deliver=webhooks.delivery_attempt,
            send_due=webhooks.deliveries_send_due)))
        post_migrate.connect(_serve_shipped_model, sender=self)


def _serve_shipped_model(using: str = "default", **_kwargs) -> None:
    """After migrate: register the artifacts and activate the newest if none is active."""
    from recognition.model_versions import model_versions_install
    from recognition.models import ModelVersion

    # Not after a migration back to before model versions existed.
    if ModelVersion._meta.db_table in connections[using].introspection.table_names():
        model_versions_install()
