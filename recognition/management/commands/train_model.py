from dataclasses import fields
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from ml import data
from ml.train import TrainConfig, train
from recognition import model_versions, retraining, selectors
from recognition.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Train the CNN on MNIST with augmentation, style digits and non-digits, calibrate it on the "
        "tuning part of the evaluation sets (var/evalsets, built if missing) and write a versioned "
        "artifact (model.keras, metadata.json, plots) under ML_ARTIFACTS_DIR. The defaults reproduce "
        "the shipped model. The new version is registered (see sync_models)."
    )

    def add_arguments(self, parser):
        defaults = TrainConfig()
        parser.add_argument("--epochs", type=int, default=defaults.epochs)
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--limit", type=int, default=None,
                            help="train on the first N training images only (a quick run)")
        parser.add_argument("--out", type=Path, default=None,
                            help="folder for the artifact (default: ML_ARTIFACTS_DIR)")
        parser.add_argument("--activate", action="store_true",
                            help="serve the new model: activate its version")
        parser.add_argument("--include-feedback", action="store_true",
                            help="also train on reviewed predictions (but a fixed held-out 20%%), and "
                                 "activate the new model only if it beats the serving one")

    def handle(self, *args, **options):
        config = TrainConfig(**{f.name: options[f.name] for f in fields(TrainConfig)
                                if f.name in options and options[f.name] is not None})
        try:
            data.fetch(settings.MNIST_DIR)
        except data.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        out_dir = Path(options["out"] or settings.ML_ARTIFACTS_DIR)
        # Only artifacts in ML_ARTIFACTS_DIR become versions that can be activated.
        registers = out_dir.resolve() == Path(settings.ML_ARTIFACTS_DIR).resolve()
        if options["activate"] and not registers:
            raise CommandError("--activate serves the new model as a model version: leave --out unset "
                               "or set it to ML_ARTIFACTS_DIR.")
        if registers:
            try:  # fail now, not after an hour of training, if the database is not migrated
                ModelVersion.objects.exists()
            except DatabaseError as exc:
                raise CommandError(f"Cannot register model versions ({exc}); run `manage.py migrate` first.")
        reviewed = None
        if options["include_feedback"]:
            if not registers:
                raise CommandError("--include-feedback registers the new model: leave --out unset "
                                   "or set it to ML_ARTIFACTS_DIR.")
            if options["activate"]:
                raise CommandError("--include-feedback decides on activation itself: drop --activate.")
            reviewed = retraining.reviewed_images()
            self.stdout.write(
                f"Reviewed predictions: {len(reviewed.y_train)} images to train on, "
                f"{len(reviewed.y_heldout)} held out"
                + (f", {reviewed.skipped} numbers skipped (label length differs from the digits found)"
                   if reviewed.skipped else "")
                + (f", {reviewed.invalid} skipped for a label that is not digits 0-9" if reviewed.invalid else "")
                + "."
            )
        command = "python manage.py train_model" + "".join(
            f" --{f.name.replace('_', '-')} {getattr(config, f.name)}"
            for f in fields(TrainConfig) if getattr(config, f.name) != getattr(TrainConfig(), f.name))
        if reviewed is not None:
            command += " --include-feedback"
        artifact = train(mnist_dir=settings.MNIST_DIR, out_dir=out_dir, config=config,
                         command=command, verbose=1 if options["verbosity"] >= 1 else 0,
                         extra_train=(reviewed.x_train, reviewed.y_train) if reviewed else None,
                         sets_dir=Path(settings.VAR_DIR) / "evalsets",
                         cache_dir=Path(settings.VAR_DIR) / "trainset-cache")
        from ml.artifact import load_metadata

        metadata = load_metadata(artifact)
        self.stdout.write(self.style.SUCCESS(
            f"Trained {metadata['version']} in {metadata['training_seconds']:.0f} s (calibrated in "
            f"{metadata['calibration']['seconds']:.0f} s): {100 * metadata['test_accuracy']:.2f}% on MNIST test. "
            f"Calibration: {metadata['calibration']['values']}. Artifact: {artifact}"
        ))
        version = None
        if registers:
            model_versions.model_versions_sync()
            version = ModelVersion.objects.get(version=metadata["version"])
            self.stdout.write(f"Registered model version {version.version}.")
        activate = options["activate"]
        if reviewed is not None:
            activate = self._judge(version, artifact, metadata, reviewed)
        if activate:
            model_versions.model_version_activate(version=version)
            self.stdout.write(f"Activated {version.version}.")

    def _judge(self, version: ModelVersion, artifact: Path, metadata: dict,
               reviewed: retraining.ReviewedImages) -> bool:
        """Measure the new and the serving model on the held-out reviewed images; record the
        new one's figure and say whether it should serve."""
        from ml.artifact import load_metadata
        from ml.inference import get_engine
        from ml.report import classification_report

        serving_dir = selectors.serving_model_dir()
        serving = load_metadata(serving_dir, verify=False)

        def heldout_accuracy(model_dir: Path) -> float | None:
            if not len(reviewed.y_heldout):
                return None
            probabilities = get_engine(model_dir).probabilities(reviewed.x_heldout)
            return classification_report(reviewed.y_heldout, probabilities.argmax(axis=1))["accuracy"]

        new_heldout = heldout_accuracy(artifact)
        serving_heldout = heldout_accuracy(serving_dir)
        version.heldout_accuracy = new_heldout
        version.heldout_images = len(reviewed.y_heldout)
        version.save(update_fields=["heldout_accuracy", "heldout_images"])

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.2f}%"

        self.stdout.write(
            f"On {len(reviewed.y_heldout)} held-out reviewed images: {version.version} {pct(new_heldout)}, "
            f"serving {serving['version']} {pct(serving_heldout)}. MNIST test: {pct(metadata['test_accuracy'])} "
            f"vs {pct(serving.get('test_accuracy'))}."
        )
        activate, why = retraining.activation_decision(
            new_test=metadata["test_accuracy"], new_heldout=new_heldout,
            active_test=serving.get("test_accuracy"), active_heldout=serving_heldout,
        )
        self.stdout.write(f"Decision: {version.version} {why}.")
        return activate
