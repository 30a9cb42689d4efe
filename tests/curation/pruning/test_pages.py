"""Clusters, prune and diff pages: what they show, the forms that start jobs, apply and its diff."""

import json
import re

from core.storage import blob_delete
from curation.models import DatasetVersion
from curation.pruning.blobs import arrays_load
from curation.pruning.models import PruneRun
from curation.pruning.services.apply import prune_run_apply
from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate, prune_params_validate
from curation.pruning.services.pruning import prune_run_create
from jobs.models import Job


def _figure(html: str, figure_id: str) -> dict:
    match = re.search(rf'<script id="{figure_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, figure_id
    return json.loads(match.group(1))


def test_clusters_page_shows_galleries_table_and_charts(viewer_client, small_version):
    version, embedding_set, _ = small_version
    run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=3)
    )

    response = viewer_client.get(f"/datasets/{version.dataset_id}/v/1/clusters/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="card cluster-gallery"') == 3
    assert html.count("Most prototypical") == html.count("Least prototypical") == 3
    assert len(_figure(html, "complexity-figure")["data"][0]["x"]) == 3
    assert {t["name"] for t in _figure(html, "mix-figure")["data"]} == {"cat", "dog", "fox"}
    assert f"/clusters/{run.pk}/c/0/" in html
    assert "New clustering" not in html  # viewers do not get the form


def test_cluster_page_ranks_members_by_distance_and_pages(viewer_client, small_version, monkeypatch):
    version, embedding_set, _ = small_version
    run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=3)
    )
    monkeypatch.setattr("frontend.pages.pruning.MEMBER_PAGE_SIZE", 15)
    size = run.clusters.get(index=0).size

    first = viewer_client.get(f"/clusters/{run.pk}/c/0/").content.decode()
    more = viewer_client.get(f"/clusters/{run.pk}/c/0/?start=15", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="members-more")

    distances = [float(d) for d in re.findall(r'<span class="thumb-note">([0-9.]+)</span>', first)]
    assert len(distances) == 15 and distances == sorted(distances)
    assert 'id="members-more"' in first
    assert more.content.decode().count('class="thumb"') == size - 15
    assert "<html" not in more.content.decode()


def test_cluster_form_starts_a_job_for_curators(curator_client, small_version):
    version, _, _ = small_version

    response = curator_client.post(f"/datasets/{version.dataset_id}/v/1/clusters/", {"n_clusters": 4, "niter": 5})

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.params["n_clusters"], job.params["niter"]) == ("cluster", 4, 5)


def test_cluster_form_refuses_k_above_the_sample_count(curator_client, small_version):
    version, _, _ = small_version

    response = curator_client.post(f"/datasets/{version.dataset_id}/v/1/clusters/", {"n_clusters": 99, "niter": 5})

    assert response.status_code == 200
    assert "k = 99 is larger than the 60 samples to cluster." in response.content.decode()
    assert Job.objects.count() == 0


def test_prune_form_shows_the_methods_parameters_with_defaults(curator_client, small_version):
    version, _, _ = small_version
    url = f"/datasets/{version.dataset_id}/v/1/prune/"

    page = curator_client.get(url).content.decode()
    dbp = curator_client.get(f"{url}?method=dbp", HTTP_HX_REQUEST="true").content.decode()

    params = re.findall(r'data-parameter="([a-z_]+)"', page)
    assert params == [
        "keep_fraction", "exact_first", "eps", "which_to_keep", "tau", "cls_bal_ratio",
        "n_clusters", "niter", "dbp_n_clusters", "per_class", "seed",
    ]  # fmt: skip
    assert 'name="eps" value="0.05"' in page and 'name="tau" value="0.1"' in page
    assert re.findall(r'data-parameter="([a-z_]+)"', dbp)[:3] == ["keep_fraction", "tau", "cls_bal_ratio"]
    assert 'name="keep_fraction" value="0.5"' in dbp and "<html" not in dbp
    assert "Default: 0.5" in dbp


def test_prune_form_starts_a_job_or_shows_the_error(curator_client, small_version):
    version, _, _ = small_version
    url = f"/datasets/{version.dataset_id}/v/1/prune/"

    refused = curator_client.post(
        url, {"method": "dbp", "keep_fraction": "1.5", "splits": ["train"]}, HTTP_HX_REQUEST="true"
    )
    started = curator_client.post(
        url, {"method": "semdedup", "eps": "0.02", "which_to_keep": "easy", "splits": "train"}
    )

    assert "keep_fraction is the fraction KEPT and must lie in (0, 1], got 1.5." in refused.content.decode()
    job = Job.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/jobs/{job.pk}/"
    assert (job.params["method"], job.params["eps"], job.params["which_to_keep"]) == ("semdedup", 0.02, "easy")


def test_viewers_cannot_start_a_prune_job(viewer_client, small_version):
    version, _, _ = small_version

    response = viewer_client.post(f"/datasets/{version.dataset_id}/v/1/prune/", {"method": "random"})

    assert response.status_code == 403
    assert Job.objects.count() == 0


def test_prune_run_page_previews_duplicates_beside_what_they_duplicate(curator_client, small_version):
    version, _, _ = small_version
    run = prune_run_create(
        params=prune_params_validate(version_id=version.pk, method="semdedup+dbp", keep_fraction=0.5, n_clusters=3)
    )

    html = curator_client.get(f"/prune-runs/{run.pk}/").content.decode()

    assert "Exact duplicate" in html and "duplicates #" in html
    assert 'id="apply-button"' in html
    budget = _figure(html, "budget-figure")
    assert [t["name"] for t in budget["data"]] == ["kept", "removed", "complexity C"]
    assert sum(budget["data"][0]["y"]) == run.summary["pruned"]["n_kept"]  # the budgets cover the pruned split only
    sweep = _figure(html, "sweep-figure")
    assert sweep["data"][0]["x"] == [0.005, 0.01, 0.02, 0.05, 0.1]
    assert 'id="class-changes"' in html


def test_prune_run_page_without_its_budgets_file_shows_the_rest(curator_client, small_version):
    # given a finished prune run whose per-cluster budgets file is gone from storage (e.g. a restored database)
    version, _, _ = small_version
    run = prune_run_create(
        params=prune_params_validate(version_id=version.pk, method="semdedup+dbp", keep_fraction=0.5, n_clusters=3)
    )
    assert run.budgets_key
    blob_delete(run.budgets_key)
    arrays_load.cache_clear()

    # when its page is opened
    response = curator_client.get(f"/prune-runs/{run.pk}/")

    # then the page answers, the budget chart has no data and the decisions' tables are there
    assert response.status_code == 200
    html = response.content.decode()
    assert _figure(html, "budget-figure")["data"] == []
    assert 'id="class-changes"' in html and 'id="apply-button"' in html


def test_apply_from_the_page_makes_one_version_and_shows_the_diff(curator_client, small_version):
    version, _, _ = small_version
    run = prune_run_create(params=prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5))

    first = curator_client.post(f"/prune-runs/{run.pk}/apply/")
    second = curator_client.post(f"/prune-runs/{run.pk}/apply/", follow=True)

    assert first.status_code == 302 and first["Location"] == f"/datasets/{version.dataset_id}/diff/1/2/"
    assert DatasetVersion.objects.filter(dataset=version.dataset).count() == 2
    html = second.content.decode()
    assert "60 → 40 samples." in html  # half of the 40 train samples, and the 20 val ones untouched
    assert [t["name"] for t in _figure(html, "diff-figure")["data"]] == ["v1", "v2"]
    assert sum(_figure(html, "diff-figure")["data"][1]["y"]) == 40


def test_applied_run_links_to_its_version(viewer_client, small_version):
    version, _, _ = small_version
    run = prune_run_create(params=prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5))
    prune_run_apply(prune_run=PruneRun.objects.get(pk=run.pk))

    html = viewer_client.get(f"/prune-runs/{run.pk}/").content.decode()

    assert "Applied: v2 (diff)" in html and 'id="apply-button"' not in html
