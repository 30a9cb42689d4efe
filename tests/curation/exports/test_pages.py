"""Export pages: the form on a version, the exports list with its download links, and the dataset page's link."""

import pytest
from django.test import Client

from curation.exports.models import Export
from jobs.models import JobStatus
from tests.curation.exports.builders import pets_version
from tests.factories import ExportFactory, JobFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(curator) -> Client:
    client = Client()
    client.force_login(curator)
    return client


def test_the_dataset_page_links_each_version_to_its_export_form(browser, curator):
    version = pets_version(created_by=curator)

    html = browser.get(f"/datasets/{version.dataset_id}/").content.decode()

    assert f'href="/datasets/{version.dataset_id}/v/1/export/"' in html


def test_posting_the_form_starts_the_export_and_shows_it_in_the_list(browser, curator):
    # given a complete version
    version = pets_version(created_by=curator)
    # when the curator posts the export form for WebDataset shards of 3
    response = browser.post(f"/datasets/{version.dataset_id}/v/1/export/", {"format": "webdataset", "shard_size": "3"})
    # then an export with its job exists, and the browser goes to its row in the exports list
    export = Export.objects.get()
    assert (export.format, export.options, export.created_by, export.job.status) == (
        "webdataset", {"shard_size": 3}, curator, JobStatus.QUEUED,
    )  # fmt: skip
    assert (response.status_code, response["Location"]) == (302, f"/exports/#export-{export.pk}")
    listing = browser.get("/exports/").content.decode()
    assert f'id="export-{export.pk}"' in listing
    assert 'hx-trigger="every 2s"' in listing  # polls while the job is unfinished


def test_a_version_being_created_is_refused_on_the_form_with_the_reason(browser, curator):
    version = pets_version(created_by=curator)
    version.job = JobFactory(kind="import_dataset", status=JobStatus.RUNNING)
    version.save(update_fields=["job"])

    response = browser.post(f"/datasets/{version.dataset_id}/v/1/export/", {"format": "csv"})

    assert response.status_code == 200
    assert "is still being created" in response.content.decode()
    assert Export.objects.count() == 0


def test_the_list_shows_download_links_of_finished_exports_and_stops_polling(browser, curator):
    # given a finished export of the curator, and another user's
    mine = ExportFactory(created_by=curator)
    ExportFactory(created_by=UserFactory())
    # when the list is read (as htmx would, for the rows partial)
    html = browser.get("/exports/", headers={"HX-Request": "true"}).content.decode()
    # then the curator's export has its file and checksum links, and nothing polls
    assert f'href="/api/exports/{mine.pk}/download/manifest.jsonl"' in html
    assert f'href="/api/exports/{mine.pk}/download/SHA256SUMS"' in html
    assert html.count('<tr id="export-') == 1
    assert "hx-trigger" not in html
