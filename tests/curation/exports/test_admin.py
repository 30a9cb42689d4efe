"""The export admin: read-only rows, and an action that purges expired exports' files."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.curation.exports.builders import stored_export_files
from tests.factories import ExportFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_changelist_and_a_row_open_read_only(staff):
    export = ExportFactory()

    listing = staff.get("/admin/exports/export/")
    row = staff.get(f"/admin/exports/export/{export.pk}/change/")

    assert (listing.status_code, row.status_code) == (200, 200)
    assert staff.get("/admin/exports/export/add/").status_code == 403


def test_the_purge_action_deletes_the_files_of_expired_exports(staff):
    expired = ExportFactory(expires_at=timezone.now() - timedelta(hours=2))

    response = staff.post(
        "/admin/exports/export/", {"action": "purge_expired", "_selected_action": [expired.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "Deleted the files of 1 expired export(s)." in response.content.decode()
    assert stored_export_files(expired.pk) == []
