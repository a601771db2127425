from dataclasses import fields
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data
from ml.train import TrainConfig, train


class Command(BaseCommand):
    help = (
        "Train the CNN on MNIST with augmentation and write a versioned artifact "
        "(model.keras, metadata.json, plots) under ML_ARTIFACTS_DIR. The defaults reproduce "
        "the shipped model."
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
                            help="serve the new model: point ML_ARTIFACTS_DIR/current at it")

    def handle(self, *args, **options):
        config = TrainConfig(**{f.name: options[f.name] for f in fields(TrainConfig)
                                if f.name in options and options[f.name] is not None})
        try:
            data.fetch(settings.MNIST_DIR)
        except data.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        out_dir = options["out"] or settings.ML_ARTIFACTS_DIR
        command = "python manage.py train_model" + "".join(
            f" --{f.name.replace('_', '-')} {getattr(config, f.name)}"
            for f in fields(TrainConfig) if getattr(config, f.name) != getattr(TrainConfig(), f.name))
        artifact = train(mnist_dir=settings.MNIST_DIR, out_dir=out_dir, config=config,
                         command=command, verbose=1 if options["verbosity"] >= 1 else 0)
        from ml.artifact import load_metadata

        metadata = load_metadata(artifact)
        self.stdout.write(self.style.SUCCESS(
            f"Trained {metadata['version']} in {metadata['training_seconds']:.0f} s: "
            f"{100 * metadata['test_accuracy']:.2f}% on MNIST test. Artifact: {artifact}"
        ))
        if options["activate"]:
            link = Path(out_dir) / "current"
            tmp = link.with_name("current.tmp")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(artifact.name)
            tmp.replace(link)  # atomic: a reader sees the old or the new target, never none
            self.stdout.write(f"Activated: {link} -> {artifact.name}")
