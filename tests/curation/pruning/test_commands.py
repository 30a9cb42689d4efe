"""`manage.py cluster` and `manage.py prune`: JSON on the last stdout line, exit 1 with one line on bad input."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from curation.pruning.models import ClusterRun, PruneRun
from jobs.models import Job, JobStatus


@pytest.fixture
def cli_user(curator) -> str:
    return curator.username


def _run(*args) -> tuple[int, dict | None, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code), None, err.getvalue()
    return 0, json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def test_cluster_command_runs_inline(small_version, cli_user):
    version, embedding_set, _ = small_version

    code, result, _ = _run(
        "cluster", str(version.pk), "--embeddings", str(embedding_set.pk), "--k", "3", "--user", cli_user
    )

    assert code == 0
    run = ClusterRun.objects.get()
    assert result == {"job": run.job_id, "cluster_run": run.pk, "version": version.pk, "n_clusters": 3, "n_samples": 60}


def test_prune_command_runs_inline_and_enqueues(small_version, cli_user):
    version, _, _ = small_version

    code, result, _ = _run(
        "prune", str(version.pk), "--method", "semdedup+dbp", "--keep-fraction", "0.5", "--k", "3", "--user", cli_user
    )
    queued_code, queued, _ = _run(
        "prune", str(version.pk), "--method", "random", "--keep-fraction", "0.2", "--enqueue", "--user", cli_user
    )

    run = PruneRun.objects.get()
    assert code == queued_code == 0
    assert (result["prune_run"], result["method"], result["n_kept"]) == (run.pk, "semdedup+dbp", run.n_kept)
    assert run.params["keep_fraction"] == 0.5 and run.params["eps"] == 0.05 and run.params["tau"] == 0.1
    queued_job = Job.objects.get(pk=queued["job"])
    assert (queued_job.status, queued_job.kind, queued_job.params["keep_fraction"]) == (JobStatus.QUEUED, "prune", 0.2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "dbp", "--keep-fraction", "1.5"], "error: keep_fraction is the fraction KEPT and must lie in"),
        (["--method", "dbp", "--keep-fraction", "0"], "error: keep_fraction is the fraction KEPT and must lie in"),
        (["--method", "semdedup", "--keep-fraction", "0.5", "--eps", "0"], "error: eps must lie in (0, 1), got 0.0."),
        (["--method", "ssp", "--keep-fraction", "0.5", "--k", "61"], "error: k = 61 is larger than the 60 samples"),
    ],
)
def test_prune_command_refuses_bad_input_with_exit_1(small_version, cli_user, args, message):
    version, _, _ = small_version

    code, result, stderr = _run("prune", str(version.pk), *args, "--user", cli_user)

    assert (code, result) == (1, None)
    assert stderr.startswith(message) and len(stderr.strip().splitlines()) == 1
    assert Job.objects.count() == PruneRun.objects.count() == 0


def test_cluster_command_refuses_k_above_the_sample_count(small_version, cli_user):
    version, _, _ = small_version

    code, _, stderr = _run("cluster", str(version.pk), "--k", "100", "--user", cli_user)

    assert code == 1
    assert stderr.strip() == "error: k = 100 is larger than the 60 samples to cluster."
    assert Job.objects.count() == ClusterRun.objects.count() == 0
