import pytest
from django.conf import settings

from ml.inference import get_engine


@pytest.fixture(scope="session")
def engine():
    """The shipped, serving model."""
    return get_engine(settings.ML_MODEL_DIR)
