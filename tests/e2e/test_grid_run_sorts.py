"""The grid's orders by a run's per-sample values and its prediction filters, chosen from menus of the version's
runs: issue score (a proposal run), duplicate group size (a duplicate run), prediction confidence with the
prediction and model-error filters (an evaluation), distance to the cluster centroid (a cluster run)."""

import pytest
from playwright.sync_api import Page, expect

from tests.curation.run_values import (
    cluster_run_measured,
    duplicate_run_grouped,
    evaluation_predicted,
    proposal_run_scored,
    version_ids,
)
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def grid_path(browse_dataset: BrowseDataset) -> str:
    return f"/datasets/{browse_dataset.dataset.pk}/v/{browse_dataset.version.number}/samples/"


def shown(page: Page) -> list[int]:
    return page.locator("li.thumb").evaluate_all("els => els.map(e => Number(e.dataset.sampleId))")


def test_sort_by_issue_score_and_step_through_it(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    # given a proposal run of v2 that scored four samples, two of them alike
    version = browse_dataset.version
    s = version_ids(version)
    run = proposal_run_scored(version, {s[3]: 0.9, s[7]: 0.6, s[1]: 0.6, s[10]: 0.2})
    path = grid_path(browse_dataset)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=path)

    # when they sort by issue score, highest first, from the run's group of the sort menu
    sort_menu = page.get_by_label("Sort")
    group = sort_menu.locator("optgroup", has_text="Issue score")
    expect(group).to_have_attribute("label", f"Proposal run {run.pk} (Confident learning (linear probe))")
    sort_menu.select_option(label="Issue score, highest first")

    # then the grid shows only the scored samples in that order (the tie by id), each with its score, and says why
    page.wait_for_url(f"**sort=-issue_score%3A{run.pk}**")
    expect(page.locator("li.thumb")).to_have_count(4)
    assert shown(page) == [s[3], s[7], s[1], s[10]]
    expect(page.locator("li.thumb .thumb-sort-value").first).to_have_text("Issue score: 0.900")
    expect(page.locator("#grid-run-sort")).to_contain_text(f"Sorted by issue score of run {run.pk}, highest first")
    expect(page.locator("#grid-title")).to_contain_text("4 of 15 samples match")

    # and the sample page's next follows the same order: s7 then s1 (the tie), then s10
    page.locator("li.thumb a").nth(1).click()
    page.wait_for_url(f"**/{s[7]}/?sort=-issue_score&sort_run={run.pk}")
    page.keyboard.press("j")
    page.wait_for_url(f"**/{s[1]}/?sort=-issue_score&sort_run={run.pk}")
    expect(page.locator("#next-sample")).to_have_attribute(
        "href", f"{path}{s[10]}/?sort=-issue_score&sort_run={run.pk}"
    )
    assert errors == []


def test_sort_by_duplicate_group_size(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    # given a duplicate run with groups of three and two, and an older run without stored members
    version = browse_dataset.version
    s = version_ids(version)
    older = duplicate_run_grouped(version, [[s[0], s[1]]], stored=False)
    run = duplicate_run_grouped(version, [[s[2], s[5], s[9]], [s[4], s[12]]])
    path = grid_path(browse_dataset)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=path)

    # then the sort menu offers the new run's orders and says why the older run has none
    sort_menu = page.get_by_label("Sort")
    older_group = sort_menu.locator(f'optgroup[label="Duplicate run {older.pk}"] option')
    expect(older_group).to_have_text(["Duplicate group size: made before per-sample values were stored"])
    expect(older_group).to_be_disabled()

    # when they sort by group size, largest first
    sort_menu.select_option(label="Duplicate group size, highest first")

    # then the grouped samples come by the size of their group, ties by id (highest first)
    page.wait_for_url(f"**sort=-duplicate_size%3A{run.pk}**")
    expect(page.locator("li.thumb")).to_have_count(5)
    assert shown(page) == [s[9], s[5], s[2], s[12], s[4]]
    expect(page.locator("li.thumb .thumb-sort-value").first).to_have_text("Duplicate group size: 3")

    # and the group filter (read from the run's member rows) keeps the order within group 2
    page.get_by_label("Duplicate group").select_option(f"{run.pk}:2")
    expect(page.locator("li.thumb")).to_have_count(2)
    assert shown(page) == [s[12], s[4]]
    assert errors == []


def test_prediction_filters_and_sort_by_confidence(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    # given an evaluation of v2 that predicted "cat" for every sample but s1 (a dog, predicted so), with falling
    # confidence
    version = browse_dataset.version
    s = version_ids(version)
    label_of = {i: label for label, ids in browse_dataset.samples_by_label.items() for i in ids}
    predictions = {sample_id: ("cat", 0.95 - 0.02 * index) for index, sample_id in enumerate(s)}
    predictions[s[1]] = ("dog", 0.55)
    run = evaluation_predicted(version, predictions, ["cat", "dog", "bird"])
    path = grid_path(browse_dataset)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=path)

    # when they pick the run's model errors from the Prediction menu
    prediction_menu = page.get_by_label("Prediction", exact=True)
    prediction_menu.select_option(label="wrong (prediction ≠ label)")

    # then the grid shows the samples whose label is not the predicted class, in id order
    page.wait_for_url(f"**prediction_set={run.pk}%3Aerror**")
    wrong = sorted(i for i in s if predictions[i][0] != label_of[i])
    expect(page.locator("li.thumb")).to_have_count(len(wrong))
    assert shown(page) == wrong

    # when they also sort by confidence, lowest first
    page.get_by_label("Sort").select_option(label="Prediction confidence, lowest first")

    # then the errors come least confident first (the newest samples first)
    page.wait_for_url(f"**sort=confidence%3A{run.pk}**")
    expected = sorted(wrong, key=lambda i: (predictions[i][1], i))
    expect(page.locator("li.thumb").first).to_have_attribute("data-sample-id", str(expected[0]))
    assert shown(page) == expected

    # and "predicted dog" lists the one sample predicted so
    prediction_menu.select_option(label="predicted dog")
    expect(page.locator("li.thumb")).to_have_count(1)
    assert shown(page) == [s[1]]
    assert errors == []


def test_sort_by_cluster_distance_within_a_cluster(live_server, page: Page, browse_dataset: BrowseDataset, viewer):
    # given a cluster run of v2: even positions in cluster 0, odd in cluster 1, distances growing with position
    version = browse_dataset.version
    s = version_ids(version)
    run = cluster_run_measured(version, {i: (position % 2, 0.5 + 0.01 * position) for position, i in enumerate(s)})
    path = grid_path(browse_dataset)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=path)

    # when they pick cluster 1 and sort by distance to the centroid, farthest first
    page.get_by_label("Cluster", exact=True).select_option(label="cluster 1 (7)")
    expect(page.locator("li.thumb")).to_have_count(7)
    page.get_by_label("Sort").select_option(label="Distance to the cluster centroid, farthest first")

    # then cluster 1's members come farthest first
    page.wait_for_url(f"**sort=-cluster_distance%3A{run.pk}**")
    expect(page.locator("li.thumb").first).to_have_attribute("data-sample-id", str(s[13]))
    assert shown(page) == s[1::2][::-1]
    assert "cluster_set" in page.url
    assert errors == []
