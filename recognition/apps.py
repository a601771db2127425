from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "recognition"

    def ready(self) -> None:
        # How predictions travel is decided here, once per process, and handed on; the
        # transport is given what to send and run, so it imports neither tasks nor runs.
        from recognition import runs, tasks, transport

        transport.install(transport.from_settings(transport.Work(
            task=tasks.run_predictions, run=tasks.run, requeue=runs.predictions_requeue_stale)))
