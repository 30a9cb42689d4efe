"""The label_proposals job kind and the propose_labels command run the same service."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.roles import Role
from curation.models import VersionSample
from curation.review.models import ProposalRun
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.factories import UserFactory


def test_the_job_runs_a_proposal_run_and_records_its_result(noisy_version):
    job = job_create(
        kind="label_proposals",
        params={"version_id": noisy_version.version.pk, "source": "confident_learning"},
        requested_by=UserFactory(role=Role.CURATOR),
    )

    job = job_execute(job.pk)

    run = ProposalRun.objects.get()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {
        "proposal_run": run.pk, "version": noisy_version.version.pk, "source": "confident_learning",
        "proposals": run.proposal_count, "flagged_samples": run.flagged_count,
        "label_issues": run.summary["label_issues"], "shift_flags": 0, "instances": run.summary["instances"],
    }  # fmt: skip
    assert (run.summary["instances"]["ran"], run.summary["instances"]["covered"]) == (True, 0)  # no shared objects
    assert run.job_id == job.pk


def test_a_job_with_bad_params_fails_with_the_reason_and_writes_nothing(noisy_version):
    job = job_create(
        kind="label_proposals",
        params={"version_id": noisy_version.version.pk, "source": "mixed_cluster"},
        requested_by=None,
    )

    job = job_execute(job.pk)

    assert (job.status, job.error) == (JobStatus.FAILED, "mixed_cluster needs cluster_run_id")
    assert ProposalRun.objects.count() == 0


def test_the_command_prints_json_and_refuses_bad_sources(noisy_version):
    UserFactory(role=Role.ADMIN, username="admin", is_superuser=True)
    out = StringIO()

    call_command(
        "propose_labels", str(noisy_version.version.pk), "--source", "confident_learning", stdout=out, stderr=StringIO()
    )

    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["proposal_run"] == ProposalRun.objects.get().pk
    assert result["label_issues"] == ProposalRun.objects.get().summary["label_issues"]
    with pytest.raises(CommandError, match="invalid choice: 'oracle'"):
        call_command("propose_labels", str(noisy_version.version.pk), "--source", "oracle", stderr=StringIO())


def test_the_command_defaults_to_confident_learning_and_takes_repeated_splits(noisy_version):
    UserFactory(role=Role.ADMIN, username="admin", is_superuser=True)
    VersionSample.objects.filter(version=noisy_version.version, sample_id__in=noisy_version.sample_ids[:45]).update(
        split="val"
    )
    out = StringIO()

    call_command("propose_labels", str(noisy_version.version.pk), "--split", "train", "--split", "val", stdout=out)

    run = ProposalRun.objects.get()
    assert (run.source, run.params["splits"], run.summary["members"]) == ("confident_learning", ["train", "val"], 90)
    assert set(run.summary["by_split"]) == {"train", "val"}
    with pytest.raises(CommandError, match="invalid choice: 'holdout'"):
        call_command("propose_labels", str(noisy_version.version.pk), "--split", "holdout", stderr=StringIO())
