import pytest
from django.test import Client

from core.roles import Role
from tests.browser import browser, page  # noqa: F401  (one browser for every browser test)
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Each test writes files into its own media root."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def user_with_role(db):
    def make(role: Role | None, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def admin_user(user_with_role):
    return user_with_role(Role.ADMIN)


@pytest.fixture
def curator(user_with_role):
    return user_with_role(Role.CURATOR)


@pytest.fixture
def reviewer(user_with_role):
    return user_with_role(Role.REVIEWER)


@pytest.fixture
def viewer(user_with_role):
    return user_with_role(Role.VIEWER)


@pytest.fixture
def viewer_client(viewer) -> Client:
    """A test client of its own, logged in as a viewer (tests/frontend's version logs `client` in instead)."""
    logged_in = Client()
    logged_in.force_login(viewer)
    return logged_in


@pytest.fixture
def curator_client(curator) -> Client:
    """A test client of its own, logged in as a curator."""
    logged_in = Client()
    logged_in.force_login(curator)
    return logged_in
