"""POST /api/datasets/imports/: 202 with the job, structured 400s, 403 for roles that may not import."""

from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from curation.models import Dataset
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from tests.curation.test_import_helpers import jpeg, media_files, members_by_name, source_folder, write_files, zip_bytes

pytestmark = pytest.mark.django_db
URL = "/api/datasets/imports/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def zip_upload(files: dict[str, bytes] | None = None, name: str = "pets.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, zip_bytes(files or {"cat/a.jpg": jpeg(1)}), content_type="application/zip")


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_curator_uploads_a_zip_and_gets_the_job_to_follow(curator):
    # given a curator with a zip
    client = client_for(curator)
    # when it is posted
    response = client.post(URL, {"file": zip_upload(), "name": "pets", "description": "d"}, format="multipart")
    # then 202 names a queued job whose params point at the stored upload
    job = Job.objects.get()
    assert response.status_code == 202
    assert response.json() == {"job": job.pk, "status": "queued", "url": f"/api/jobs/{job.pk}/"}
    key = job.params["source"]
    assert (job.kind, job.requested_by, job.queue) == ("import_dataset", curator, "default")
    assert job.params == {
        "source": key,
        "name": "pets",
        "format": "auto",
        "description": "d",
        "upload_name": "pets.zip",
    }
    assert media_files() == [key]
    # and when a worker runs it, the dataset exists and the upload is gone
    assert job_execute(job.pk).status == JobStatus.SUCCEEDED
    assert list(members_by_name(Dataset.objects.get(name="pets").versions.get().pk)) == ["cat/a.jpg"]
    assert key not in media_files()


def test_an_admin_imports_a_server_folder(admin_user, tmp_path: Path):
    # given a folder on the server
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when an admin names it
    response = client_for(admin_user).post(URL, {"source": str(folder), "name": "server"}, format="json")
    # then the job is queued with the path
    job = Job.objects.get()
    assert (response.status_code, job.params) == (
        202,
        {"source": str(folder), "name": "server", "format": "auto", "description": ""},
    )


def test_a_curator_may_not_name_a_server_path(curator, tmp_path: Path):
    # given a curator (not an admin)
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when naming a server path
    response = client_for(curator).post(URL, {"source": str(folder), "name": "server"}, format="json")
    # then 403, and no job
    assert error_of(response) == (403, "server_path_forbidden")
    assert Job.objects.count() == 0


def test_server_paths_are_limited_to_the_configured_roots(admin_user, tmp_path: Path, settings):
    # given import roots that do not include the folder
    settings.IMPORT_SERVER_ROOTS = [str(tmp_path / "allowed")]
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when an admin names it
    response = client_for(admin_user).post(URL, {"source": str(folder), "name": "server"}, format="json")
    # then it is refused as if it did not exist (which tells nothing about what exists outside the roots)
    assert response.json()["error"] == {
        "code": "source_not_found",
        "message": f"No such file or folder in the folders allowed for imports: {folder}",
        "details": None,
    }
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"name": "x"}, (400, "source_required")),
        ({"source": "relative/path", "name": "x"}, (400, "invalid_source")),
        ({"source": "uploads/0123456789abcdef0123456789abcdef.zip", "name": "x"}, (400, "invalid_source")),
        ({"source": "/no/such/folder", "name": "x"}, (400, "source_not_found")),
        ({"source": "/tmp", "name": "x", "format": "rar"}, (400, "validation_error")),
        ({"source": "/tmp"}, (400, "validation_error")),
        ({"source": "/tmp", "name": "   "}, (400, "validation_error")),
    ],
)
def test_wrong_json_payloads_are_structured_400s(admin_user, payload, expected):
    # given an admin
    client = client_for(admin_user)
    # when posting a wrong payload
    response = client.post(URL, payload, format="json")
    # then the error says why, and no job was created
    assert error_of(response) == expected
    assert Job.objects.count() == 0


def test_a_missing_name_is_reported_on_its_field(admin_user):
    # given an admin
    # when the name is missing
    response = client_for(admin_user).post(URL, {"source": "/tmp"}, format="json")
    # then the details name the field
    assert response.json()["error"]["details"] == {"name": ["This field is required."]}


def test_a_taken_name_is_refused_before_the_upload_is_stored(curator):
    # given a dataset named pets
    Dataset.objects.create(name="pets")
    # when a zip is posted with that name
    response = client_for(curator).post(URL, {"file": zip_upload(), "name": "pets"}, format="multipart")
    # then 400 name_taken, and nothing was stored
    assert error_of(response) == (400, "name_taken")
    assert (Job.objects.count(), media_files()) == (0, [])


def test_a_non_zip_upload_is_refused(curator):
    # given a text file posted as the archive
    upload = SimpleUploadedFile("notes.zip", b"hello, not a zip", content_type="application/zip")
    # when posted
    response = client_for(curator).post(URL, {"file": upload, "name": "text"}, format="multipart")
    # then 400 invalid_upload, and nothing was stored
    assert error_of(response) == (400, "invalid_upload")
    assert (Job.objects.count(), media_files()) == (0, [])


def test_both_a_file_and_a_source_is_refused(admin_user):
    # given an admin sending both
    payload = {"file": zip_upload(), "source": "/tmp", "name": "both"}
    # when posted
    response = client_for(admin_user).post(URL, payload, format="multipart")
    # then 400 source_required
    assert error_of(response) == (400, "source_required")


@pytest.mark.parametrize("role_fixture", ["viewer", "reviewer"])
def test_roles_without_curate_get_403(request, role_fixture):
    # given a viewer or reviewer
    user = request.getfixturevalue(role_fixture)
    # when posting an upload
    response = client_for(user).post(URL, {"file": zip_upload(), "name": "nope"}, format="multipart")
    # then 403 with a structured error, and nothing stored
    assert error_of(response) == (403, "permission_denied")
    assert (Job.objects.count(), media_files()) == (0, [])


def test_anonymous_gets_401():
    # given no credentials
    # when posting
    response = APIClient().post(URL, {"name": "x"}, format="json")
    # then 401
    assert error_of(response) == (401, "not_authenticated")


def test_starting_imports_is_rate_limited_per_user(curator, settings):
    # given a limit of two imports an hour
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"imports": "2/hour"}}
    client = client_for(curator)
    # when a curator starts three
    responses = [client.post(URL, {"file": zip_upload(), "name": f"n{n}"}, format="multipart") for n in range(3)]
    # then the third is refused with 429 and a Retry-After, and its upload was not stored
    assert [r.status_code for r in responses] == [202, 202, 429]
    assert error_of(responses[2]) == (429, "throttled")
    assert int(responses[2]["Retry-After"]) > 0
    assert len(media_files()) == 2
    cache.clear()
