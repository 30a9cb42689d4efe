"""The clusters and pruning API: jobs started, runs read, decisions paged, runs applied, versions diffed."""

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from curation.models import DatasetVersion
from curation.pruning.models import ClusterRun, PruneDecision, PruneRun
from curation.pruning.services.pruning import prune_run_create
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from tests.curation.pruning.factories import embedding_set_create, stored_files, version_with_samples


@pytest.fixture
def api(curator) -> APIClient:
    client = APIClient()
    client.force_authenticate(curator)
    return client


def _start_prune(api, version, **payload):
    return api.post("/api/prune-runs/", {"version": version.pk, **payload}, format="json")


def test_cluster_job_runs_and_its_run_is_readable(api, small_version):
    version, embedding_set, _ = small_version

    started = api.post("/api/cluster-runs/", {"version": version.pk, "k": 3}, format="json")
    job = job_execute(started.json()["job"])

    assert started.status_code == 202
    assert job.status == JobStatus.SUCCEEDED, job.error
    run = ClusterRun.objects.get(pk=job.result["cluster_run"])
    assert (run.job_id, run.embedding_set_id, run.n_clusters) == (job.pk, embedding_set.pk, 3)
    detail = api.get(f"/api/cluster-runs/{run.pk}/").json()
    assert [c["index"] for c in detail["clusters"]] == [0, 1, 2]
    assert sum(c["size"] for c in detail["clusters"]) == 60
    assert [r["id"] for r in api.get(f"/api/versions/{version.pk}/cluster-runs/").json()] == [run.pk]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"method": "dbp", "keep_fraction": 1.5}, "invalid_keep_fraction"),
        ({"method": "dbp", "keep_fraction": 0}, "invalid_keep_fraction"),
        ({"method": "semdedup", "eps": 0}, "invalid_eps"),
        ({"method": "semdedup", "eps": -0.1}, "invalid_eps"),
        ({"method": "dbp", "keep_fraction": 0.5, "k": 61}, "k_too_large"),
    ],
)
def test_bad_prune_requests_get_a_structured_400_and_no_job(api, small_version, payload, code):
    version, _, _ = small_version

    response = _start_prune(api, version, **payload)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Job.objects.count() == PruneRun.objects.count() == 0


def test_k_larger_than_the_version_is_refused_for_clustering(api, small_version):
    version, _, _ = small_version

    response = api.post("/api/cluster-runs/", {"version": version.pk, "k": 61}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "k_too_large")
    assert Job.objects.count() == 0


def test_embeddings_of_another_version_are_refused(api, small_version):
    version, _, vectors = small_version
    other = version_with_samples(60, dataset=version.dataset, number=2)
    foreign = embedding_set_create(version=other, vectors=vectors)

    response = _start_prune(api, version, method="semdedup", embedding_set=foreign.pk)

    assert (response.status_code, response.json()["error"]["code"]) == (400, "embeddings_mismatch")
    assert Job.objects.count() == 0


def test_prune_job_decisions_apply_and_diff(api, small_version):
    version, _, _ = small_version
    job = job_execute(
        _start_prune(api, version, method="ssp", keep_fraction=0.5, k=3, splits=["train", "val"]).json()["job"]
    )
    run_id = job.result["prune_run"]

    detail = api.get(f"/api/prune-runs/{run_id}/").json()
    removed = api.get(f"/api/prune-runs/{run_id}/decisions/?keep=false&page_size=20").json()
    second_page = api.get(removed["next"]).json()
    first = api.post(f"/api/prune-runs/{run_id}/apply/")
    again = api.post(f"/api/prune-runs/{run_id}/apply/")
    diff = api.get(f"/api/versions/{version.pk}/diff/{first.json()['version']}/").json()

    assert (detail["method"], detail["n_kept"], detail["n_removed"], detail["status"]) == ("ssp", 30, 30, "proposed")
    assert detail["params"]["keep_fraction"] == 0.5 and detail["params"]["which_to_keep"] == "hard"
    assert len(removed["results"]) == 20 and len(second_page["results"]) == 10
    assert {d["reason"] for d in removed["results"] + second_page["results"]} == {"prototypicality"}
    ids = [d["sample"] for d in removed["results"] + second_page["results"]]
    assert ids == sorted(ids)
    assert (first.status_code, first.json()["created"], again.status_code, again.json()["created"]) == (
        201,
        True,
        200,
        False,
    )
    assert first.json()["version"] == again.json()["version"]
    assert DatasetVersion.objects.filter(dataset=version.dataset).count() == 2
    assert (diff["total_before"], diff["total_after"]) == (60, 30)
    assert sum(row["change"] for row in diff["rows"]) == -30
    assert {row["split"] for row in diff["rows"]} == {"train", "val"}


def test_method_defaults_are_listed(api):
    methods = {m["method"]: m["defaults"] for m in api.get("/api/prune-methods/").json()}

    assert list(methods) == ["semdedup", "dbp", "ssp", "random", "semdedup+dbp"]
    assert methods["semdedup"]["eps"] == 0.05 and methods["semdedup"]["which_to_keep"] == "hard"
    assert (methods["dbp"]["tau"], methods["dbp"]["cls_bal_ratio"], methods["dbp"]["keep_fraction"]) == (0.1, 0.5, 0.5)


def test_a_job_that_fails_while_reading_leaves_nothing(api, small_version):
    version, embedding_set, _ = small_version
    started = _start_prune(api, version, method="dbp", keep_fraction=0.5, k=3)
    default_storage.delete(embedding_set.embeddings_key)

    job = job_execute(started.json()["job"])

    assert job.status == JobStatus.FAILED
    assert "missing from storage" in job.error
    assert PruneRun.objects.count() == PruneDecision.objects.count() == 0


def test_a_cancelled_prune_job_leaves_nothing(api, small_version, monkeypatch):
    version, _, _ = small_version
    monkeypatch.setattr("curation.pruning.services.decisions.BATCH_ROWS", 10)
    monkeypatch.setattr("jobs.services.runner.SYNC_INTERVAL_S", 0)
    job_id = _start_prune(api, version, method="semdedup+dbp", keep_fraction=0.5, k=3).json()["job"]

    def create_and_cancel_while_writing(**kwargs):
        check = kwargs.pop("on_batch")

        def on_batch(done, total):
            if done >= 20:  # a user presses cancel while the decisions are written
                Job.objects.filter(pk=job_id).update(cancel_requested=True)
            check(done, total)

        return prune_run_create(**kwargs, on_batch=on_batch)

    monkeypatch.setattr("curation.pruning.services.pruning.prune_run_create", create_and_cancel_while_writing)

    job = job_execute(job_id)

    assert job.status == JobStatus.CANCELLED
    assert PruneRun.objects.count() == PruneDecision.objects.count() == 0
    assert stored_files("pruning") == []
