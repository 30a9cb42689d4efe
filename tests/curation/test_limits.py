"""Rate limits and the upload byte cap hold on every path: the import and export pages as well as the API.

The limits live in the submit services (jobs.services.job_start_rate_check counts the jobs a user
started in the window at the configured WINNOW_THROTTLE_IMPORTS / _EXPORTS rate); the API's request
throttle is a separate, earlier guard, so the API tests here start their first job through a page.
"""

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from core.api_errors import ApplicationError
from core.roles import Role
from curation.exports.models import Export
from curation.services.imports import import_upload_store
from jobs.models import Job
from tests.curation.exports.builders import pets_version
from tests.curation.test_import_helpers import jpeg, media_files, zip_bytes

pytestmark = pytest.mark.django_db
IMPORT_PAGE, IMPORT_API = "/datasets/import/", "/api/datasets/imports/"


@pytest.fixture(autouse=True)
def one_an_hour(settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"imports": "1/hour", "exports": "1/hour"},
    }
    yield
    cache.clear()


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def zip_upload(name: str = "pets.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, zip_bytes({"cat/a.jpg": jpeg(1)}), content_type="application/zip")


def import_from_page(client: Client, name: str):
    return client.post(IMPORT_PAGE, {"file": zip_upload(), "name": name, "format": "auto"})


def test_the_import_page_refuses_an_import_past_the_rate_and_stores_nothing(curator):
    # given a rate of one import an hour
    client = page_client(curator)
    # when a curator starts two imports from the page
    first, second = import_from_page(client, "first"), import_from_page(client, "second")
    # then the first goes to its job page; the second shows the form with the limit, and stored nothing
    job = Job.objects.get()
    assert (first.status_code, first["Location"]) == (302, f"/jobs/{job.pk}/")
    assert second.status_code == 200
    assert "Too many imports started: the limit is 1/hour. Try again in" in second.content.decode()
    assert media_files() == [job.params["source"]]


def test_the_import_api_answers_429_after_an_import_started_from_the_page(curator):
    # given one import started from the page (which the API's request throttle never saw)
    import_from_page(page_client(curator), "first")
    # when the same curator starts one through the API
    response = api_client(curator).post(IMPORT_API, {"file": zip_upload(), "name": "second"}, format="multipart")
    # then 429 with a structured error and Retry-After, no job and no stored upload added
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["details"]["rate"]) == (429, "throttled", "1/hour")
    assert 3500 < int(response["Retry-After"]) == error["details"]["retry_after"] <= 3600
    assert Job.objects.count() == 1
    assert len(media_files()) == 1


def test_the_rate_is_per_user(curator, user_with_role):
    # given one curator at the limit
    import_from_page(page_client(curator), "first")
    # when another curator imports
    other = user_with_role(Role.CURATOR)
    response = import_from_page(page_client(other), "second")
    # then it is not limited
    assert response.status_code == 302
    assert Job.objects.count() == 2


def test_the_export_page_refuses_an_export_past_the_rate(curator):
    # given a complete version and a rate of one export an hour
    version = pets_version(created_by=curator)
    client = page_client(curator)
    url = f"/datasets/{version.dataset_id}/v/{version.number}/export/"
    # when a curator requests two exports from the page
    first = client.post(url, {"format": "jsonl"})
    second = client.post(url, {"format": "csv"})
    # then the second shows the limit and creates no export and no job
    assert first.status_code == 302
    assert second.status_code == 200
    assert "Too many exports started: the limit is 1/hour." in second.content.decode()
    assert (Export.objects.count(), Job.objects.count()) == (1, 1)


def test_the_export_api_answers_429_after_an_export_started_from_the_page(curator):
    # given one export started from the page
    version = pets_version(created_by=curator)
    page_client(curator).post(f"/datasets/{version.dataset_id}/v/{version.number}/export/", {"format": "jsonl"})
    # when the same curator asks the API for another
    response = api_client(curator).post(f"/api/versions/{version.pk}/exports/", {"format": "csv"}, format="json")
    # then 429 with a structured error, and nothing created
    assert (response.status_code, response.json()["error"]["code"]) == (429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert (Export.objects.count(), Job.objects.count()) == (1, 1)


def test_an_upload_over_the_byte_cap_is_refused_with_413_and_nothing_is_stored(curator, settings):
    # given a cap of 100 bytes, below the size of the zip
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    upload = zip_upload()
    assert upload.size > 100
    # when it is posted to the API
    response = api_client(curator).post(IMPORT_API, {"file": upload, "name": "big"}, format="multipart")
    # then 413 with the cap, and no job, no stored file
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["details"]) == (413, "upload_too_large", {"max_bytes": 100})
    assert (Job.objects.count(), media_files()) == (0, [])


def test_the_import_page_shows_the_byte_cap_on_the_file_field(curator, settings):
    # given a cap of 100 bytes
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    # when a bigger zip is posted from the page
    response = import_from_page(page_client(curator), "big")
    # then the form says why, and nothing was stored
    assert response.status_code == 200
    assert "The upload is larger than the limit of 100 bytes" in response.content.decode()
    assert (Job.objects.count(), media_files()) == (0, [])


def test_a_stream_of_unknown_size_is_cut_at_the_cap_while_stored(settings):
    # given a stream with no declared size that starts like a zip and goes past the cap
    settings.IMPORT_UPLOAD_MAX_BYTES = 256 * 1024
    stream = io.BytesIO(zip_bytes({"a.bin": b"\0"}) + b"x" * (1024 * 1024))
    # when it is stored
    with pytest.raises(ApplicationError) as refused:
        import_upload_store(upload=stream)
    # then it is refused once past the cap, and no partial file is left
    assert (refused.value.code, refused.value.status_code) == ("upload_too_large", 413)
    assert stream.tell() < 1024 * 1024
    assert media_files() == []


def test_a_stream_within_the_cap_is_stored_whole(settings):
    # given a cap just at the stream's size
    data = zip_bytes({"a.bin": b"\1" * 1000})
    settings.IMPORT_UPLOAD_MAX_BYTES = len(data)
    # when it is stored
    key = import_upload_store(upload=io.BytesIO(data))
    # then every byte is there
    assert media_files() == [key]
