from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data, synthetic


class Command(BaseCommand):
    help = (
        "Write labelled folders of realistic images built from MNIST *test* digits: single "
        "digits off-centre, any size and polarity, on paper with noise, blur and JPEG; and "
        "lines of 2-6 digits. Evaluate them with `evaluate_model --images DIR`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=Path(settings.VAR_DIR) / "robustness")
        parser.add_argument("--singles", type=int, default=2000)
        parser.add_argument("--lines", type=int, default=500)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, out, singles, lines, seed, **options):
        try:
            mnist = data.load(settings.MNIST_DIR)
        except data.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        single_dir = synthetic.write_folder(
            synthetic.single_digits(mnist.x_test, mnist.y_test, singles, seed=seed), out / "singles")
        line_dir = synthetic.write_folder(
            synthetic.digit_lines(mnist.x_test, mnist.y_test, lines, seed=seed + 1), out / "lines")
        self.stdout.write(self.style.SUCCESS(f"Wrote {singles} images to {single_dir} and {lines} to {line_dir}"))
