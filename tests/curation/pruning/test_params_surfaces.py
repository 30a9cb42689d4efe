"""The prune parameters the API, the page and the command gained from one declaration (issue #18):
the API's niter and new names (old `k`/`dbp_k` still work), the command's --niter, --min-cluster-share
and --exact-first, and the page's choice of a stored cluster run."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate
from jobs.models import Job


@pytest.fixture
def api(curator) -> APIClient:
    client = APIClient()
    client.force_authenticate(curator)
    return client


@pytest.fixture
def curator_client(curator) -> Client:
    client = Client()
    client.force_login(curator)
    return client


def test_api_takes_niter_and_both_names_of_k(api, small_version):
    version, _, _ = small_version
    base = {"version": version.pk, "method": "semdedup+dbp", "niter": 7}

    old = api.post("/api/prune-runs/", {**base, "k": 3, "dbp_k": 2}, format="json")
    new = api.post(
        "/api/prune-runs/", {**base, "n_clusters": 4, "dbp_n_clusters": 2, "exact_first": False}, format="json"
    )

    assert old.status_code == new.status_code == 202
    first, second = (Job.objects.get(pk=r.json()["job"]).params for r in (old, new))
    assert (first["niter"], first["n_clusters"], first["dbp_n_clusters"], first["exact_first"]) == (7, 3, 2, True)
    assert (second["n_clusters"], second["dbp_n_clusters"], second["exact_first"]) == (4, 2, False)


def test_api_refusal_names_the_parameter(api, small_version):
    version, _, _ = small_version

    response = api.post("/api/prune-runs/", {"version": version.pk, "method": "dbp", "niter": 0}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_parameter",
        "message": "niter must be at least 1, got 0.",
        "details": {"field": "niter"},
    }
    assert Job.objects.count() == 0


def test_cluster_api_takes_n_inter_neighbors(api, small_version):
    version, _, _ = small_version

    response = api.post("/api/cluster-runs/", {"version": version.pk, "k": 3, "n_inter_neighbors": 2}, format="json")

    assert response.status_code == 202
    assert Job.objects.get().params["n_inter_neighbors"] == 2


def test_command_takes_niter_min_cluster_share_and_exact_first(small_version, curator):
    version, _, _ = small_version
    out = StringIO()

    call_command(
        "prune", str(version.pk), "--method", "ssp", "--niter", "4", "--min-cluster-share", "0.25",
        "--no-exact-first", "--enqueue", "--user", curator.username, stdout=out,
    )  # fmt: skip

    job = Job.objects.get(pk=json.loads(out.getvalue().strip().splitlines()[-1])["job"])
    assert (job.params["niter"], job.params["min_cluster_share"], job.params["exact_first"]) == (4, 0.25, False)


def test_prune_page_reuses_a_cluster_run_and_keeps_the_choice_when_the_method_changes(curator_client, small_version):
    version, embedding_set, _ = small_version
    run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=3)
    )
    url = f"/datasets/{version.dataset_id}/v/1/prune/"

    semdedup = curator_client.get(f"{url}?method=semdedup").content.decode()
    ssp = curator_client.get(f"{url}?method=ssp", HTTP_HX_REQUEST="true").content.decode()
    back = curator_client.get(f"{url}?method=dbp&cluster_run={run.pk}", HTTP_HX_REQUEST="true").content.decode()
    started = curator_client.post(url, {"method": "dbp", "cluster_run": run.pk, "splits": "train"})

    assert 'id="prune-cluster-run"' in semdedup and f'<option value="{run.pk}">#{run.pk} · k = 3' in semdedup
    assert 'id="prune-cluster-run"' not in ssp  # ssp cannot reuse one
    assert f'<option value="{run.pk}" selected>' in back
    assert started.status_code == 302
    assert Job.objects.get().params["cluster_run_id"] == run.pk
