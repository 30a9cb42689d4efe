import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache():
    """Version statistics are cached per process; each test starts without them."""
    cache.clear()
    yield
    cache.clear()
