import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_throttles():
    """The API's throttles count in the cache: each test starts with none used."""
    cache.clear()
    yield
    cache.clear()
