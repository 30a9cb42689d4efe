"""The sample list's orders by a run's per-sample values (issue score, duplicate group size, prediction confidence,
distance to the cluster centroid) and its prediction filters: exact orders, ties by sample id, keyset pages
across a page boundary, and the previous/next of the sample page in the same order."""

import pytest
from django.db.models import QuerySet

from core.api_errors import ApplicationError
from curation.apis.sample_sets import sample_set_filter_parse
from curation.sample_sorts import sample_order_parse
from curation.selectors import sample_neighbors, sample_page
from tests.curation.run_values import (
    cluster_run_measured,
    duplicate_run_grouped,
    evaluation_predicted,
    proposal_run_scored,
    version_ids,
)
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    """Eight members: labels cat, dog, bird in turn; splits train except every fourth (val)."""
    dataset = DatasetFactory(classes=["cat", "dog", "bird"])
    version = DatasetVersionFactory(dataset=dataset, sample_count=8)
    for index in range(8):
        sample = SampleFactory(dataset=dataset)
        label, split = ["cat", "dog", "bird"][index % 3], "val" if index % 4 == 3 else "train"
        VersionSampleFactory(version=version, sample=sample, label=label, split=split)
    return version


def walk(version, *, sort: str, run, size: int, **filters) -> list[list[int]]:
    """Every page of the listing in `sort` of `run`, following each page's cursor."""
    _order, run_sort = sample_order_parse(sort, str(run.pk), version=version)
    pages, after, after_value = [], None, None
    while True:
        page = sample_page(
            version=version, size=size, run_sort=run_sort, after_sample_id=after, after_value=after_value, **filters
        )
        pages.append([member.sample_id for member in page.members])
        if page.next_after is None:
            return pages
        after, after_value = page.next_after, page.next_after_value


def test_issue_score_orders_by_score_with_ties_by_id_across_page_boundaries(version):
    # given a proposal run that scored five of the eight members, three of them alike
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.9, s[1]: 0.5, s[2]: 0.5, s[3]: 0.5, s[4]: 0.1})

    # when the members are listed by issue score, two a page, highest and lowest first
    highest = walk(version, sort="-issue_score", run=run, size=2)
    lowest = walk(version, sort="issue_score", run=run, size=2)

    # then only the scored members come, the tie broken by sample id in the same direction, each once
    assert highest == [[s[0], s[3]], [s[2], s[1]], [s[4]]]
    assert lowest == [[s[4], s[1]], [s[2], s[3]], [s[0]]]


def test_a_page_carries_each_members_value_and_the_cursor_pair(version):
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.9, s[1]: 0.5, s[2]: 0.5})
    _order, run_sort = sample_order_parse("-issue_score", str(run.pk), version=version)

    page = sample_page(version=version, size=2, run_sort=run_sort)

    assert [(m.sample_id, m.sort_value) for m in page.members] == [(s[0], 0.9), (s[2], 0.5)]
    assert (page.next_after, page.next_after_value) == (s[2], 0.5)


def test_run_orders_combine_with_the_label_split_and_set_filters(version):
    # given issue scores for every member, and a duplicate group of four of them
    s = version_ids(version)
    run = proposal_run_scored(version, {sample_id: 0.1 * index for index, sample_id in enumerate(s)})
    duplicates = duplicate_run_grouped(version, [[s[0], s[1], s[3], s[6]]])
    group = sample_set_filter_parse({"duplicate_run": str(duplicates.pk), "duplicate_group": "1"}, version=version)

    # when listed by issue score with a label, a split, and the group filter
    cats = walk(version, sort="-issue_score", run=run, size=2, label="cat")
    val = walk(version, sort="issue_score", run=run, size=5, split="val")
    in_group = walk(version, sort="-issue_score", run=run, size=3, sample_ids=group)

    # then each lists only its members, in the run's order
    assert cats == [[s[6], s[3]], [s[0]]]
    assert val == [[s[3], s[7]]]
    assert in_group == [[s[6], s[3], s[1]], [s[0]]]


def test_duplicate_size_lists_each_sample_once_by_its_largest_group(version):
    # given groups of three, two (sharing a sample with the first) and two samples
    s = version_ids(version)
    run = duplicate_run_grouped(version, [[s[0], s[1], s[2]], [s[2], s[3]], [s[4], s[5]]])

    # when listed by group size, largest first, three a page
    pages = walk(version, sort="-duplicate_size", run=run, size=3)

    # then the shared sample counts once, with its larger group; ties by id, highest first
    assert pages == [[s[2], s[1], s[0]], [s[5], s[4], s[3]]]
    assert walk(version, sort="duplicate_size", run=run, size=10) == [[s[3], s[4], s[5], s[0], s[1], s[2]]]


def test_the_duplicate_group_filter_reads_the_member_rows(version):
    # given a run whose sample s2 is in groups 1 and 2
    s = version_ids(version)
    run = duplicate_run_grouped(version, [[s[0], s[1], s[2]], [s[2], s[3]]])

    # when group 2 is resolved and listed
    ids = sample_set_filter_parse({"duplicate_run": str(run.pk), "duplicate_group": "2"}, version=version)
    page = sample_page(version=version, sample_ids=ids)

    # then it is a subquery of the member rows (no literal list of ids), and holds the group's two samples
    assert isinstance(ids, QuerySet)
    assert "embeddings_duplicatemember" in str(ids.query)
    assert [m.sample_id for m in page.members] == [s[2], s[3]]


def test_an_older_duplicate_run_still_filters_by_its_groups_but_offers_no_sort(version):
    s = version_ids(version)
    run = duplicate_run_grouped(version, [[s[0], s[5]]], stored=False)

    ids = sample_set_filter_parse({"duplicate_run": str(run.pk), "duplicate_group": "1"}, version=version)

    assert ids == {s[0], s[5]}
    with pytest.raises(ApplicationError) as refused:
        sample_order_parse("-duplicate_size", str(run.pk), version=version)
    assert refused.value.code == "invalid_sort_run"


def test_cluster_distance_orders_members_and_the_cluster_filter_reads_the_table(version):
    # given a cluster run: cluster 0 holds s0..s3, cluster 1 s4..s7, with distances and a tie
    s = version_ids(version)
    distances = [0.30, 0.10, 0.20, 0.10, 0.05, 0.40, 0.25, 0.40]
    run = cluster_run_measured(version, {sample_id: (int(i >= 4), distances[i]) for i, sample_id in enumerate(s)})

    # when listed by distance (nearest first, three a page), and cluster 1 alone farthest first
    nearest = walk(version, sort="cluster_distance", run=run, size=3)
    cluster_1 = sample_set_filter_parse({"cluster_run": str(run.pk), "cluster": "1"}, version=version)
    farthest_in_1 = walk(version, sort="-cluster_distance", run=run, size=2, sample_ids=cluster_1)

    # then the order is by the stored distance (float32 rounding kept), ties by id; the cluster is a subquery
    assert nearest == [[s[4], s[1], s[3]], [s[2], s[6], s[0]], [s[5], s[7]]]
    assert farthest_in_1 == [[s[7], s[5]], [s[6], s[4]]]
    assert isinstance(cluster_1, QuerySet)
    assert "pruning_clustermember" in str(cluster_1.query)


def test_confidence_order_and_the_prediction_and_model_error_filters(version):
    # given an evaluation that predicted every member (labels cat, dog, bird in turn)
    s = version_ids(version)
    predicted = ["cat", "cat", "bird", "dog", "dog", "bird", "bird", "dog"]
    confidence = [0.9, 0.6, 0.7, 0.6, 0.95, 0.8, 0.5, 0.6]
    run = evaluation_predicted(
        version, {sample_id: (predicted[i], confidence[i]) for i, sample_id in enumerate(s)}, ["cat", "dog", "bird"]
    )

    def members(**query: str) -> list[int]:
        ids = sample_set_filter_parse({"prediction_run": str(run.pk), **query}, version=version)
        return [m.sample_id for m in sample_page(version=version, sample_ids=ids).members]

    # when listed by confidence (least confident first), and filtered
    least = walk(version, sort="confidence", run=run, size=3)

    # then the order follows the stored probability, ties by id
    assert least == [[s[6], s[1], s[3]], [s[7], s[2], s[5]], [s[0], s[4]]]
    # and labels were cat dog bird cat dog bird cat dog: wrong where the prediction differs
    assert members(model_error="true") == [s[1], s[3], s[6]]
    assert members(model_error="false") == [s[0], s[2], s[4], s[5], s[7]]
    assert members(predicted="dog") == [s[3], s[4], s[7]]
    assert members(predicted="dog", model_error="true") == [s[3]]


def test_prediction_filters_refuse_what_they_cannot_answer(version):
    s = version_ids(version)
    run = evaluation_predicted(version, {s[0]: ("cat", 0.9)}, ["cat", "dog", "bird"])
    other = DatasetVersionFactory(dataset=version.dataset, number=2)
    cases = {
        "unknown class": ({"prediction_run": str(run.pk), "predicted": "fish"}, version),
        "no member": ({"prediction_run": str(run.pk)}, version),
        "no run": ({"model_error": "true"}, version),
        "not a boolean": ({"prediction_run": str(run.pk), "model_error": "maybe"}, version),
        "another version": ({"prediction_run": str(run.pk), "model_error": "true"}, other),
    }

    refused = {}
    for name, (query, asked) in cases.items():
        with pytest.raises(ApplicationError) as error:
            sample_set_filter_parse(query, version=asked)
        refused[name] = (error.value.code, list(error.value.details))

    assert refused == {
        "unknown class": ("invalid_filter", ["predicted"]),
        "no member": ("invalid_filter", ["prediction_run"]),
        "no run": ("invalid_filter", ["prediction_run"]),
        "not a boolean": ("invalid_filter", ["model_error"]),
        "another version": ("invalid_filter", ["prediction_run"]),
    }


def test_sort_parse_refuses_unknown_sorts_and_runs(version):
    run = proposal_run_scored(version, {version_ids(version)[0]: 0.5})
    other = DatasetVersionFactory(dataset=version.dataset, number=2)
    cases = {
        "unknown": ("-popularity", str(run.pk), version),
        "without run": ("-issue_score", None, version),
        "missing run": ("-issue_score", "999999", version),
        "other version": ("-issue_score", str(run.pk), other),
        "member order with a run": ("label", str(run.pk), version),
    }

    codes = {}
    for name, (sort, sort_run, asked) in cases.items():
        with pytest.raises(ApplicationError) as error:
            sample_order_parse(sort, sort_run, version=asked)
        codes[name] = error.value.code

    assert codes == {
        "unknown": "invalid_sort",
        "without run": "invalid_sort_run",
        "missing run": "invalid_sort_run",
        "other version": "invalid_sort_run",
        "member order with a run": "invalid_sort",
    }


def test_sample_neighbours_follow_a_run_order(version):
    # given issue scores with a tie, listed highest first: s0 (0.9), s3, s2, s1 (0.5 each), s4 (0.1)
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.9, s[1]: 0.5, s[2]: 0.5, s[3]: 0.5, s[4]: 0.1})
    _order, run_sort = sample_order_parse("-issue_score", str(run.pk), version=version)

    # when each sample's previous and next are asked for in that order
    def neighbours(sample_id: int, **filters) -> tuple[int | None, int | None]:
        found = sample_neighbors(version=version, sample_id=sample_id, run_sort=run_sort, **filters)
        return found.previous_id, found.next_id

    # then they step through the grid's order, across the tie; an unscored sample has none
    assert [neighbours(i) for i in (s[0], s[3], s[2], s[1], s[4])] == [
        (None, s[3]), (s[0], s[2]), (s[3], s[1]), (s[2], s[4]), (s[1], None),
    ]  # fmt: skip
    assert neighbours(s[6]) == (None, None)
    # and within a filter (the cats are s0, s3, s6): s3 follows s0
    assert neighbours(s[0], label="cat") == (None, s[3])
