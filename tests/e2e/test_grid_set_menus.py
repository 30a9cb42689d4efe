"""The grid's cluster, duplicate-group and failure-slice filters are menus of the version's runs, not id boxes."""

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from curation.embeddings.models import DuplicateGroup, DuplicateRun
from curation.pruning.models import Cluster, ClusterRun
from tests.curation.pruning.factories import embedding_set_create
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_filter_by_a_duplicate_group_chosen_from_a_menu(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    # given a duplicate run of v2 with two near-duplicate groups, and a cluster run with two clusters
    dataset, version = browse_dataset.dataset, browse_dataset.version
    birds, cats = browse_dataset.samples_by_label["bird"], browse_dataset.samples_by_label["cat"]
    embedding_set = embedding_set_create(version=version, vectors=np.eye(15, 4))
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.95, threshold_source="user"
    )
    DuplicateGroup.objects.create(run=run, number=1, kind="near", size=2, sample_ids=[cats[0], cats[1]])
    DuplicateGroup.objects.create(run=run, number=2, kind="near", size=3, sample_ids=[birds[0], birds[1], cats[2]])
    clusters = ClusterRun.objects.create(
        version=version, embedding_set=embedding_set, n_clusters=2, n_samples=15, assignment_key="a.npz"
    )
    Cluster.objects.create(cluster_run=clusters, index=0, size=9, complexity=0.1)
    Cluster.objects.create(cluster_run=clusters, index=1, size=6, complexity=0.2)
    grid_path = f"/datasets/{dataset.pk}/v/{version.number}/samples/"
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=grid_path)

    # then the menus list the runs' sets (the largest duplicate group first), and there is no slice menu
    duplicate_menu = page.get_by_label("Duplicate group")
    options = duplicate_menu.locator("option").all_inner_texts()
    assert [text.strip() for text in options] == ["Any", "group 2, near (3)", "group 1, near (2)"]
    assert duplicate_menu.locator("optgroup").get_attribute("label") == f"Duplicate run {run.pk}"
    cluster_options = page.get_by_label("Cluster", exact=True).locator("option").all_inner_texts()
    assert [text.strip() for text in cluster_options] == ["Any", "cluster 0 (9)", "cluster 1 (6)"]
    expect(page.get_by_label("Failure slice")).to_have_count(0)

    # when they choose group 2
    duplicate_menu.select_option(label="group 2, near (3)")

    # then the grid shows its three samples; the menu's "<run>:<group>" is in the URL, and the cards' links
    # name the run and group as the sample-list API does
    page.wait_for_url(f"**duplicate_set={run.pk}%3A2**")
    expect(page.locator("li.thumb")).to_have_count(3)
    ids = page.locator("li.thumb").evaluate_all("els => els.map(e => Number(e.dataset.sampleId))")
    assert ids == sorted([birds[0], birds[1], cats[2]])
    expect(page.locator("li.thumb a").first).to_have_attribute(
        "href", f"{grid_path}{ids[0]}/?duplicate_run={run.pk}&duplicate_group=2"
    )

    # when they also pick the label "bird", the group filter stays
    page.get_by_label("Label").select_option("bird")
    page.wait_for_url("**label=bird**")
    expect(page.locator("li.thumb")).to_have_count(2)
    expect(duplicate_menu).to_have_value(f"{run.pk}:2")

    # and choosing "Any" group again drops it
    duplicate_menu.select_option("")
    expect(page.locator("li.thumb")).to_have_count(5)
    assert "duplicate_run" not in page.url
    assert errors == []
