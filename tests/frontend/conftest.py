import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache():
    """Version statistics are cached per process; each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client
