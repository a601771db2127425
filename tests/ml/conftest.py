import pytest
from django.conf import settings

from ml.artifact import newest
from ml.inference import get_engine


@pytest.fixture(scope="session")
def engine():
    """The shipped model (the newest artifact; no database needed to find it)."""
    return get_engine(newest(settings.ML_ARTIFACTS_DIR))
