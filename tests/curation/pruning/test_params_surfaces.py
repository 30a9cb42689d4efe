"""The prune parameters the API, the page and the command gained from one declaration (issue #18):
the API's niter and new names (old `k`/`dbp_k` still work), the command's --niter, --min-cluster-share
and --exact-first, and the page's choice of a stored cluster run."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.html import escape
from rest_framework.test import APIClient

from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate
from jobs.models import Job
from tests.curation.pruning.factories import version_with_samples


@pytest.fixture
def api(curator) -> APIClient:
    client = APIClient()
    client.force_authenticate(curator)
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


def test_a_version_with_no_embeddings_is_refused_with_the_way_to_embed_it(api, curator_client, curator, capsys):
    # given a version with no embedding set
    version = version_with_samples(6, labels=["cat", "dog"], splits=["train"], number=2)
    pages = f"/datasets/{version.dataset_id}/v/2"
    # when pruning and clustering it are asked from the pages, the API and the command
    prune_page = curator_client.post(f"{pages}/prune/", {"method": "semdedup", "splits": "train"})
    cluster_page = curator_client.post(f"{pages}/clusters/", {"n_clusters": 2, "niter": 5})
    answer = api.post("/api/prune-runs/", {"version": version.pk, "method": "semdedup"}, format="json")
    with pytest.raises(SystemExit) as exited:
        call_command("prune", str(version.pk), "--method", "semdedup", "--user", curator.username)
    # then the pages link to the version's embed form; the API and the command say how to embed it
    lead = f"Version {version.pk} (v2 of {version.dataset.name!r}) has no ready embedding set: embed it first"
    link = f'<a href="{pages}/embeddings/#start-title" id="embed-version-link">Embed v2</a>'
    for page in (prune_page, cluster_page):
        assert f'<p class="field-error">{escape(lead)}, or name one. {link}</p>' in page.content.decode()
    how = f"manage.py embed {version.pk}, or POST /api/versions/{version.pk}/embeddings/"
    assert (answer.status_code, answer.json()["error"]) == (400, {
        "code": "embeddings_required", "message": f"{lead} ({how}), or name one.",
        "details": {"version_id": version.pk, "embed_url": f"/api/versions/{version.pk}/embeddings/"},
    })  # fmt: skip
    assert exited.value.code == 1 and capsys.readouterr().err.strip().endswith(f"{lead} ({how}), or name one.")
    assert Job.objects.count() == 0
