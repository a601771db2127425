from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data
from ml.artifact import ArtifactError, load_metadata
from ml.train import QUICK_TUNING_COUNTS, QUICK_TUNING_PAGES, calibrate
from recognition.management.model_option import add_model_option, model_dir


class Command(BaseCommand):
    help = (
        "Refit an artifact's calibration (temperature, thresholds, and the report of the options "
        "compared) on the tuning part of the evaluation sets (var/evalsets, built if missing), as "
        "train_model does after training, and store it in its metadata.json. The model is not changed."
    )

    def add_arguments(self, parser):
        add_model_option(parser)
        parser.add_argument("--quick", action="store_true",
                            help="fit on a small tuning part of its own (evalsets/quick), as a quick "
                                 "training run does: for trials, not for an artifact to serve")

    def handle(self, *args, model=None, quick=False, **options):
        artifact = model_dir(model)
        try:
            load_metadata(artifact)
            mnist = data.load(settings.MNIST_DIR)
        except (ArtifactError, data.DatasetError) as exc:
            raise CommandError(str(exc)) from exc
        sets = Path(settings.VAR_DIR) / "evalsets"
        if quick:
            report = calibrate(artifact, mnist, sets / "quick", counts=QUICK_TUNING_COUNTS, pages=QUICK_TUNING_PAGES)
        else:
            report = calibrate(artifact, mnist, sets)
        self.stdout.write(self.style.SUCCESS(
            f"Calibrated {artifact} in {report['seconds']:.0f} s: {report['values']}"))
