"""The grid in an order by a run's per-sample values: "Load more" pages carry the (value, id) cursor, the sort menu
lists the version's runs (and says why an older run offers none), a bad run is dropped with a message, and a
page costs a fixed number of queries whatever its size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from frontend.pages import datasets as dataset_pages
from tests.curation.run_values import cluster_run_measured, proposal_run_scored, version_ids
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory
from tests.frontend.test_sample_grid import grid_url, shown_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    version = DatasetVersionFactory(sample_count=7, dataset__classes=["cat", "dog"])
    for index in range(7):
        sample = SampleFactory(dataset=version.dataset)
        VersionSampleFactory(version=version, sample=sample, label=["cat", "dog"][index % 2])
    return version


def test_load_more_walks_a_run_order_across_ties(viewer_client, version, monkeypatch):
    # given issue scores with a three-way tie, and pages of two
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.3, s[1]: 0.7, s[2]: 0.7, s[3]: 0.7, s[5]: 0.1})
    monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", 2)

    # when the grid is opened highest first (the menu's "<sort>:<run>") and "Load more" is followed to the end
    response = viewer_client.get(grid_url(version), {"sort": f"-issue_score:{run.pk}"})
    pages = [shown_ids(response)]
    while response.context["next_query"]:
        response = viewer_client.get(
            f"{grid_url(version)}?{response.context['next_query']}", HTTP_HX_TARGET="grid-more"
        )
        pages.append(shown_ids(response))

    # then every scored sample comes once, by score then id, and the cards' links keep the order
    assert pages == [[s[3], s[2]], [s[1], s[0]], [s[5]]]
    assert f"sort=-issue_score&amp;sort_run={run.pk}" in response.content.decode()


def test_the_sort_menu_lists_run_orders_and_notes_older_runs(viewer_client, version):
    # given a proposal run with scores and a cluster run made before distances were stored
    s = version_ids(version)
    issues = proposal_run_scored(version, {s[0]: 0.5})
    older = cluster_run_measured(version, dict.fromkeys(s, (0, 0.1)), stored=False)

    response = viewer_client.get(grid_url(version))

    groups = [(g.label, g.options, g.notes) for g in response.context["sort_groups"]]
    assert groups == [
        (
            f"Proposal run {issues.pk} (Confident learning (linear probe))",
            [
                (f"-issue_score:{issues.pk}", "Issue score, highest first"),
                (f"issue_score:{issues.pk}", "Issue score, lowest first"),
            ],
            [],
        ),
        (
            f"Cluster run {older.pk} (k=1)",
            [],
            ["Distance to the cluster centroid: made before per-sample values were stored"],
        ),
    ]  # fmt: skip


def test_a_sort_by_a_run_that_offers_none_is_dropped_with_a_message(viewer_client, version):
    s = version_ids(version)
    older = cluster_run_measured(version, dict.fromkeys(s, (0, 0.1)), stored=False)

    response = viewer_client.get(grid_url(version), {"sort": "cluster_distance", "sort_run": older.pk})

    assert response.status_code == 200
    assert shown_ids(response) == s
    assert [str(m) for m in response.context["messages"]] == [
        f"Invalid sort_run: cluster run {older.pk} of this version has no stored distances (a finished run made "
        "after they were stored is needed)."
    ]


def test_a_run_ordered_page_costs_the_same_queries_at_any_size(viewer_client, version, monkeypatch):
    # given a cluster run with distances (its statistics cached by a first visit)
    s = version_ids(version)
    run = cluster_run_measured(version, {i: (0, 0.1 * n) for n, i in enumerate(s)})
    query = {"sort": "-cluster_distance", "sort_run": run.pk}
    viewer_client.get(grid_url(version), query)

    counts = {}
    for size in (2, 7):
        monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", size)
        with CaptureQueriesContext(connection) as queries:
            response = viewer_client.get(grid_url(version), query)
        counts[size] = len(queries)
        assert shown_ids(response) == s[::-1][:size]

    # then both cost the grid's 6 (tests/frontend/test_sample_grid.py) and the run's lookup (its clusters' menu was
    # made by the first visit and kept); it was 13 (the grid's 11)
    assert counts == {2: 7, 7: 7}


def test_the_sample_page_steps_through_a_run_order(viewer_client, version):
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.3, s[1]: 0.7, s[4]: 0.7})
    url = reverse("frontend:sample_detail", args=[version.dataset_id, version.number, s[1]])

    response = viewer_client.get(url, {"sort": "-issue_score", "sort_run": run.pk})

    neighbours = response.context["neighbors"]
    assert (neighbours.previous_id, neighbours.next_id) == (s[4], s[0])
