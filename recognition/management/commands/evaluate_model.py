import json as jsonlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data, evalsets
from ml.artifact import ArtifactError
from ml.evaluate import evaluate_mnist, evaluate_sets
from ml.evaluate_pages import evaluate_pages
from ml.inference import Engine
from ml.report import evaluation_table
from recognition.management.model_option import add_model_option, model_dir


class Command(BaseCommand):
    help = (
        "Every figure of a model against its floor, in one table: MNIST test (raw and through "
        "preprocessing) and the measuring part of the realistic sets (single digits, lines, styles, "
        "non-digits, pages; built under --sets from MNIST test digits if missing): accuracy, rejections "
        "per kind, ECE and AUROC. Writes JSON and the reliability diagram to var/."
    )

    def add_arguments(self, parser):
        add_model_option(parser)
        parser.add_argument("--sets", type=Path, default=Path(settings.VAR_DIR) / "evalsets",
                            help="where the evaluation sets are (built there if missing)")
        parser.add_argument("--part", choices=[evalsets.MEASURE, evalsets.TUNE], default=evalsets.MEASURE,
                            help="which part of the sets to measure on (the figures are the measuring part's)")
        parser.add_argument("--only", choices=["pages"], default=None,
                            help="measure only this set (pages: the page set alone, without MNIST and the others)")
        parser.add_argument("--json", type=Path, default=None,
                            help="where to write the report (default: var/evaluation-<version>.json)")

    def handle(self, *args, model=None, sets=None, part=None, json=None, only=None, **options):
        try:
            engine = Engine(model_dir(model))
        except ArtifactError as exc:
            raise CommandError(f"Cannot load the model: {exc}") from exc
        try:
            mnist = data.load(settings.MNIST_DIR)
        except data.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        var = Path(settings.VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        plot = var / f"reliability-{engine.version}-{part}.png"
        report = {"model_version": engine.version, "part": part, "calibration": engine.calibration.to_dict()}
        if only is None:
            paths = evalsets.ensure(mnist.x_test, mnist.y_test, sets, part)
            report["mnist"] = evaluate_mnist(engine, mnist.x_test, mnist.y_test)
            report["sets"] = evaluate_sets(engine, paths, plot=plot)
        pages = evalsets.ensure_pages(mnist.x_test, mnist.y_test, sets, part)
        report.setdefault("sets", {})["pages"] = evaluate_pages(engine, pages)
        self.stdout.write(f"Model {engine.version}, {part} part of {sets}; calibration {report['calibration']}")
        for line in evaluation_table(report):
            self.stdout.write(line)
        out = json or var / f"evaluation-{engine.version}{'-' + only if only else ''}.json"
        out.write_text(jsonlib.dumps(report, indent=2) + "\n")
        self.stdout.write(f"Report written to {out}" + ("" if only else f"; reliability diagram: {plot}"))
