"""Refused and failing exports: unknown format, a version still being created, a disk that fills
up during the export, and downloads of expired or foreign exports. Each asserts nothing half-written."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from curation.exports.models import Export
from curation.exports.services.exports import export_create_inline, exports_expired_purge
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from tests.curation.exports.builders import pets_version, stored_export_files
from tests.factories import ExportFactory, JobFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(curator) -> APIClient:
    client = APIClient()
    client.force_authenticate(curator)
    return client


def run_command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("export", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_unknown_format_is_refused_by_the_api_with_the_allowed_formats(api, curator):
    # given a complete version
    version = pets_version(created_by=curator)
    # when an unknown format is asked for
    response = api.post(f"/api/versions/{version.pk}/exports/", {"format": "tfrecord"}, format="json")
    # then 400 with a stable code and the formats there are; no export and no job were made
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_format",
            "message": "Unknown export format 'tfrecord'; use one of: imagefolder-zip, csv, jsonl, hf-imagefolder, "
            "webdataset.",
            "details": {"allowed": ["imagefolder-zip", "csv", "jsonl", "hf-imagefolder", "webdataset"]},
        }
    }
    assert (Export.objects.count(), Job.objects.count()) == (0, 0)


def test_unknown_format_exits_the_command_with_1_and_one_line(curator):
    # given a complete version and an admin for the command
    version = pets_version(created_by=curator)
    UserFactory(username="admin", is_superuser=True)
    # when the command is asked for an unknown format
    code, out, err = run_command(str(version.pk), "--format", "parquet")
    # then it exits 1 with the reason on stderr, nothing on stdout, nothing created
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [
        "error: Unknown export format 'parquet'; use one of: imagefolder-zip, csv, jsonl, hf-imagefolder, webdataset."
    ]
    assert (Export.objects.count(), Job.objects.count()) == (0, 0)


def test_shard_options_are_refused_for_formats_without_shards(api, curator):
    version = pets_version(created_by=curator)

    response = api.post(f"/api/versions/{version.pk}/exports/", {"format": "csv", "shard_size": 10}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_options")
    assert response.json()["error"]["message"] == "Options not used by the csv format: shard_size."
    assert Export.objects.count() == 0


def test_a_version_whose_job_is_still_running_cannot_be_exported(api, curator):
    # given a version whose import job is still running (it ends after the version is written)
    version = pets_version(created_by=curator)
    version.job = JobFactory(kind="import_dataset", status=JobStatus.RUNNING)
    version.save(update_fields=["job"])
    # when an export is asked for
    response = api.post(f"/api/versions/{version.pk}/exports/", {"format": "jsonl"}, format="json")
    # then 409 version_not_ready, and nothing is created
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "version_not_ready",
        "message": f"Cannot export yet: version {version.pk} is still being created: the job that makes it "
        f"(job {version.job_id}) is still running.",
        "details": None,
    }
    assert (Export.objects.count(), Job.objects.count()) == (0, 1)


def test_a_version_with_fewer_members_than_it_records_cannot_be_exported(api, curator):
    # given a version that records 8 members while 7 rows exist (its members are still being written)
    version = pets_version(created_by=curator)
    version.members.order_by("-sample_id").first().delete()
    # when an export is asked for
    response = api.post(f"/api/versions/{version.pk}/exports/", {"format": "csv"}, format="json")
    # then 409 with the counts
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"Cannot export yet: version {version.pk} is still being created: it has 7 members of the 8 it records."
    )
    assert Export.objects.count() == 0


def test_the_job_checks_the_version_again_and_fails_without_writing(curator):
    # given an export requested while the version was complete, whose version then lost a member row
    version = pets_version(created_by=curator)
    export = export_create_inline(version=version, format="jsonl", options={}, requested_by=curator)
    version.members.order_by("-sample_id").first().delete()
    # when its job runs
    job = job_execute(export.job_id)
    # then it fails with the reason and stores nothing
    export.refresh_from_db()
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        f"version {version.pk} is still being created: it has 7 members of the 8 it records",
    )
    assert (export.files, stored_export_files(export.pk)) == ([], [])


def test_a_disk_that_fills_during_the_export_fails_the_job_and_removes_partial_files(settings, curator, tmp_path: Path):
    # given a version, a spool folder, and a storage with room for about one and a half shards
    version = pets_version(created_by=curator)
    settings.EXPORT_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "tests.curation.exports.filling_storage.FillingStorage",
            "OPTIONS": {"free_bytes": 15_000},
        },
    }
    export = export_create_inline(version=version, format="webdataset", options={"shard_size": 2}, requested_by=curator)
    # when the export job writes its 10 KiB shards
    job = job_execute(export.job_id)
    # then the job fails on the full disk, the first shard and the partial second one are removed,
    # the row records no file, and no temporary file is left
    export.refresh_from_db()
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "storage is full (no space left on device) after 1 files; partial files are removed",
    )
    assert stored_export_files(export.pk) == []
    assert (export.files, export.checksum_key, export.size, export.sample_count) == ([], "", 0, 0)
    assert list((tmp_path / "spool").iterdir()) == []


def test_an_expired_export_answers_410(api, curator):
    # given the curator's export, expired an hour ago
    export = ExportFactory(created_by=curator, expires_at=timezone.now() - timedelta(hours=1))
    # when its file is downloaded
    response = api.get(f"/api/exports/{export.pk}/download/manifest.jsonl")
    # then 410 with a structured body
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "export_expired"
    assert response.json()["error"]["message"].startswith(f"Export {export.pk} expired at ")


def test_another_users_export_answers_403_to_a_curator_and_opens_for_an_admin(api, admin_user):
    # given another curator's export
    export = ExportFactory(created_by=UserFactory())
    admin = APIClient()
    admin.force_authenticate(admin_user)
    # when the curator and an admin download it
    foreign = api.get(f"/api/exports/{export.pk}/download/manifest.jsonl")
    detail = api.get(f"/api/exports/{export.pk}/")
    allowed = admin.get(f"/api/exports/{export.pk}/download/manifest.jsonl")
    # then the curator is refused with export_foreign; the admin gets the file
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "export_foreign")
    assert (detail.status_code, detail.json()["error"]["code"]) == (403, "export_foreign")
    assert (allowed.status_code, b"".join(allowed.streaming_content)) == (200, b'{"path": "train/cat/a.png"}\n')


def test_an_expired_foreign_export_is_refused_as_foreign_first(api):
    export = ExportFactory(created_by=UserFactory(), expires_at=timezone.now() - timedelta(hours=1))

    response = api.get(f"/api/exports/{export.pk}/download/manifest.jsonl")

    assert (response.status_code, response.json()["error"]["code"]) == (403, "export_foreign")


def test_purging_expired_exports_deletes_their_files_and_keeps_the_rows(curator):
    # given an expired export and a current one, both with stored files
    expired = ExportFactory(created_by=curator, expires_at=timezone.now() - timedelta(minutes=1))
    current = ExportFactory(created_by=curator)
    # when expired exports are purged
    purged = exports_expired_purge()
    # then only the expired one lost its files; its row stays (downloads answer 410)
    expired.refresh_from_db()
    assert purged == [expired.pk]
    assert (stored_export_files(expired.pk), expired.files, expired.checksum_key) == ([], [], "")
    assert stored_export_files(current.pk) == ["SHA256SUMS", "manifest.jsonl"]
