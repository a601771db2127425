from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data, evalsets


class Command(BaseCommand):
    help = (
        "Write the realistic evaluation sets (single digits, lines of 2-6 digits, styles, non-digits, pages), "
        "in a tuning part (MNIST test digits 0-4999) and a measuring part (5000-9999), each a folder "
        "of images with labels.csv (file,label,kind). They are reproducible from their fixed seeds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=Path(settings.VAR_DIR) / "evalsets")
        parser.add_argument("--part", choices=[*evalsets.PARTS, "both"], default="both")

    def handle(self, *args, out, part, **options):
        try:
            mnist = data.load(settings.MNIST_DIR)
        except data.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        for name in evalsets.PARTS if part == "both" else [part]:
            paths = evalsets.ensure(mnist.x_test, mnist.y_test, out, name)
            paths[evalsets.PAGES] = evalsets.ensure_pages(mnist.x_test, mnist.y_test, out, name)
            counts = {**evalsets.COUNTS[name], evalsets.PAGES: evalsets.PAGE_COUNTS[name]}
            self.stdout.write(self.style.SUCCESS(
                f"{name}: " + ", ".join(f"{set_name} ({counts[set_name]}) in {path}"
                                        for set_name, path in paths.items())))
