"""`manage.py import_dataset`: runs the job inline and prints one JSON line; failures exit 1 with a reason."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from curation.models import Dataset, DatasetVersion
from jobs.models import Job, JobStatus
from tests.curation.test_import_helpers import NOTHING, jpeg, row_counts, source_folder, write_files
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return UserFactory(username="admin", is_superuser=True)


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_dataset", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_last_stdout_line_is_the_json_summary(admin, tmp_path: Path):
    # given a folder with two images and a bad file
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1), "dog/b.jpg": jpeg(2), "dog/c.jpg": b"x"})
    # when the command imports it
    out, err = run_command(str(folder), "--name", "cli", "--description", "from the shell")
    # then its last line holds the ids and counts, and the problem went to stderr
    job = Job.objects.get()
    dataset = Dataset.objects.get(name="cli")
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary == {
        "job": job.pk,
        "dataset": dataset.pk,
        "version": DatasetVersion.objects.get(dataset=dataset).pk,
        "imported": 2,
        "rejected": 1,
        "duplicates": 0,
        "report_key": f"reports/imports/job-{job.pk}.jsonl",
    }
    assert (job.status, job.requested_by, dataset.description) == (JobStatus.SUCCEEDED, admin, "from the shell")
    assert "rejected: dog/c.jpg: not an image" in err


def test_a_relative_source_is_resolved_against_the_current_folder(admin, tmp_path: Path, monkeypatch):
    # given a relative path to a folder
    write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    monkeypatch.chdir(tmp_path)
    # when imported by that relative path
    out, _ = run_command("source", "--name", "relative", "--format", "imagefolder")
    # then the job received the absolute path
    assert Job.objects.get().params["source"] == str(tmp_path / "source")
    assert json.loads(out.splitlines()[-1])["imported"] == 1


def test_a_failed_import_exits_1_with_one_line_and_leaves_nothing(admin, tmp_path: Path):
    # given an empty folder
    folder = source_folder(tmp_path)
    err = io.StringIO()
    # when imported
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_dataset", str(folder), "--name", "empty", stdout=io.StringIO(), stderr=err)
    # then the exit status is 1 and the reason is one line on stderr
    job = Job.objects.get()
    assert exit_info.value.code == 1
    assert err.getvalue().splitlines()[-1] == f"error: job {job.pk} failed: the source contains no files to import"
    assert (job.status, job.error) == (JobStatus.FAILED, "the source contains no files to import")
    assert row_counts() == NOTHING


def test_a_refused_request_exits_1_before_creating_a_job(admin, tmp_path: Path):
    # given a taken name
    Dataset.objects.create(name="taken")
    err = io.StringIO()
    # when the command asks for it
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_dataset", str(tmp_path), "--name", "taken", stdout=io.StringIO(), stderr=err)
    # then it exits 1 with the reason and no job exists
    assert (exit_info.value.code, err.getvalue()) == (1, "error: A dataset named 'taken' already exists.\n")
    assert Job.objects.count() == 0


def test_enqueue_submits_the_job_and_returns(admin, tmp_path: Path):
    # given a folder
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when enqueued
    out, _ = run_command(str(folder), "--name", "later", "--enqueue")
    # then the job waits for a worker, and nothing is imported yet
    job = Job.objects.get()
    assert json.loads(out.splitlines()[-1]) == {"job": job.pk, "status": "queued", "queue": "default"}
    assert (job.status, Dataset.objects.count()) == (JobStatus.QUEUED, 0)
