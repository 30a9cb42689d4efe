"""`manage.py export`: runs the job inline, copies the files into --out, prints one JSON line."""

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from curation.exports.models import Export
from jobs.models import Job, JobStatus
from tests.curation.exports.builders import pets_version
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return UserFactory(username="admin", is_superuser=True)


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_writes_shards_and_checksums_into_out_and_prints_the_summary(admin, tmp_path: Path):
    # given a complete version
    version = pets_version()
    # when exported as WebDataset shards of 4 into a folder
    out, _ = run_command(str(version.pk), "--format", "webdataset", "--shard-size", "4", "--out", str(tmp_path / "o"))
    # then the last stdout line is the JSON summary, and the folder holds every file and a valid SHA256SUMS
    export, job = Export.objects.get(), Job.objects.get()
    summary = json.loads(out.strip().splitlines()[-1])
    names = ["train-000000.tar", "val-000000.tar", "test-000000.tar", "unassigned-000000.tar", "classes.txt"]
    assert summary == {
        "job": job.pk,
        "export": export.pk,
        "format": "webdataset",
        "version": version.pk,
        "samples": 8,
        "files": names,
        "size": export.size,
        "checksum_key": f"exports/{export.pk}/SHA256SUMS",
        "out": str(tmp_path / "o"),
    }
    assert (job.status, job.requested_by, export.created_by) == (JobStatus.SUCCEEDED, admin, admin)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted([*names, "SHA256SUMS"])
    for line in (tmp_path / "o" / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((tmp_path / "o" / name).read_bytes()).hexdigest() == digest


def test_enqueue_submits_the_job_and_returns(admin, django_capture_on_commit_callbacks):
    # given a complete version
    version = pets_version()
    # when the command is asked to enqueue a CSV export
    with django_capture_on_commit_callbacks() as sent:
        out, _ = run_command(str(version.pk), "--format", "csv", "--enqueue")
    # then the export and its queued job exist, and the summary names them
    export = Export.objects.get()
    assert json.loads(out.strip().splitlines()[-1]) == {
        "export": export.pk, "job": export.job_id, "status": "queued", "queue": "default",
    }  # fmt: skip
    assert (export.job.status, len(sent)) == (JobStatus.QUEUED, 1)


def test_an_unknown_version_exits_1(admin):
    with pytest.raises(SystemExit) as exit_:
        run_command("999999", "--format", "csv")

    assert exit_.value.code == 1
    assert Export.objects.count() == 0
