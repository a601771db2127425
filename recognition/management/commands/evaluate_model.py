import json as jsonlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data
from ml.artifact import ArtifactError
from ml.evaluate import evaluate_folder, evaluate_mnist
from ml.inference import Engine
from recognition.selectors import serving_model_dir


class Command(BaseCommand):
    help = (
        "Accuracy of a model on MNIST test (raw and through preprocessing) and on folders of "
        "labelled images (labels.csv: file,label). Prints a table and writes JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", type=Path, default=None,
                            help="artifact folder (default: the serving model)")
        parser.add_argument("--images", type=Path, action="append", default=[], metavar="DIR",
                            help="a folder with images and labels.csv; may be given several times")
        parser.add_argument("--no-mnist", action="store_true", help="skip MNIST test")
        parser.add_argument("--json", type=Path, default=None,
                            help="where to write the report (default: var/evaluation-<version>.json)")

    def handle(self, *args, model=None, images=(), no_mnist=False, json=None, **options):
        try:
            engine = Engine(model or serving_model_dir())
        except ArtifactError as exc:
            raise CommandError(f"Cannot load the model: {exc}") from exc
        report: dict = {"model_version": engine.version}
        rows = []
        if not no_mnist:
            try:
                mnist = data.load(settings.MNIST_DIR)
            except data.DatasetError as exc:
                raise CommandError(str(exc)) from exc
            report["mnist_test"] = evaluate_mnist(engine, mnist.x_test, mnist.y_test)
            for kind in ("raw", "preprocessed"):
                part = report["mnist_test"][kind]
                rows.append((f"MNIST test ({kind})", part["count"], part["accuracy"]))
        for folder in images:
            try:
                result = evaluate_folder(engine, folder)
            except (FileNotFoundError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            report.setdefault("folders", {})[str(folder)] = result
            if "single_digits" in result:
                rows.append((f"{folder} single digits", result["single_digits"]["count"],
                             result["single_digits"]["accuracy"]))
            if "lines" in result:
                rows.append((f"{folder} lines (exact)", result["lines"]["count"],
                             result["lines"]["exact_accuracy"]))
        self.stdout.write(f"Model {engine.version}")
        width = max([len(r[0]) for r in rows] + [10])
        self.stdout.write(f"{'set'.ljust(width)}  {'images':>7}  {'accuracy':>9}")
        for name, count, accuracy in rows:
            self.stdout.write(f"{name.ljust(width)}  {count:>7}  {100 * accuracy:>8.2f}%")
        out = json or Path(settings.VAR_DIR) / f"evaluation-{engine.version}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(jsonlib.dumps(report, indent=2) + "\n")
        self.stdout.write(f"Report written to {out}")

