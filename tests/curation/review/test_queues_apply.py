"""Queues from filters, disagreement queues, applying consensus, the taxonomy, bulk labeling, truth scores,
agreement and the label sets metrics read."""

import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from core.api_errors import ApplicationError
from core.roles import Role
from core.storage import blob_save
from curation.demo.truth import TRUTH_FORMAT
from curation.ml.label_sets import label_set_matrix, multilabel_accuracy, real_accuracy
from curation.models import DatasetVersion, LabelOrigin, VersionOperation, VersionSample
from curation.review.models import ItemState, QueueKind, ReviewItem, ReviewQueue, TaxonomyChange
from curation.review.selectors import queue_agreement, version_label_sets
from curation.review.services.apply import review_queue_apply
from curation.review.services.bulk import review_bulk_label
from curation.review.services.queues import review_disagreement_queue_create, review_queue_create
from curation.review.services.taxonomy import (
    taxonomy_class_add,
    taxonomy_class_rename,
    taxonomy_classes_merge,
    taxonomy_label_map,
)
from curation.review.services.truth import proposal_truth_scores
from curation.review.services.votes import review_item_submit, review_vote_cast
from tests.curation.pruning.factories import version_with_samples
from tests.curation.review.conftest import CLASSES, proposals_add, vote_rows
from tests.factories import UserFactory


@pytest.fixture
def version(db):
    version = version_with_samples(6, labels=CLASSES)
    version.dataset.classes = CLASSES
    version.dataset.save(update_fields=["classes"])
    return version


def ids_of(version) -> list[int]:
    return list(VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True))


def test_a_queue_takes_the_filtered_samples_by_issue_score_with_candidates(version, reviewers):
    s = ids_of(version)  # labels cat, dog, bird, cat, dog, bird
    proposals_add(version, [(s[0], "dog", 0.6, 0.4), (s[1], "cat", 0.9, 0.95), (s[3], "bird", 0.3, 0.1)])
    proposals_add(version, [(s[0], "bird", 0.7, None), (s[0], "dog", 0.8, None)], source="mixed_cluster")

    queue = review_queue_create(
        version=version, name=" first pass ", filter={"min_score": 0.5}, reviewer_ids=[reviewers[0].pk]
    )

    items = list(queue.items.order_by("position"))
    assert [(i.position, i.sample_id) for i in items] == [(1, s[1]), (2, s[0])]
    assert items[1].candidates == [
        {"label": "cat", "current": True, "sources": [{"source": "current", "origin": "import"}]},
        {
            "label": "dog",
            "current": False,
            "sources": [{"source": "mixed_cluster", "score": 0.8}, {"source": "confident_learning", "score": 0.6}],
        },
        {"label": "bird", "current": False, "sources": [{"source": "mixed_cluster", "score": 0.7}]},
    ]  # fmt: skip
    assert (queue.name, queue.item_count, queue.filter, queue.quorum) == ("first pass", 2, {"min_score": 0.5}, 1)
    assert list(queue.reviewers.all()) == [reviewers[0]]
    assert queue.summary == {"items": 2, "proposed_labels": 3, "truth": None}


def test_filters_by_source_class_and_unlabeled(version, reviewers):
    s = ids_of(version)
    proposals_add(version, [(s[0], "dog", 0.6, 0.4), (s[1], "cat", 0.9, 0.95)])
    proposals_add(version, [(s[2], "cat", 0.7, None)], source="mixed_cluster")
    VersionSample.objects.filter(version=version, sample_id__in=s[4:]).update(label="", labels=[])

    by_source = review_queue_create(version=version, name="a", filter={"sources": ["mixed_cluster"]})
    by_class = review_queue_create(version=version, name="b", filter={"classes": ["dog"]})
    labeling = review_queue_create(version=version, name="c", kind=QueueKind.LABELING, filter={"unlabeled": True})

    assert list(by_source.items.values_list("sample_id", flat=True)) == [s[2]]
    assert list(by_class.items.values_list("sample_id", flat=True)) == [s[1]]
    assert list(labeling.items.order_by("position").values_list("sample_id", flat=True)) == s[4:]


def test_a_queue_from_an_empty_filter_or_with_bad_settings_writes_nothing(version, reviewers):
    viewer = UserFactory(role=Role.VIEWER)
    cases = [
        ({"filter": {"min_issue_score": 0.5}}, "empty_filter"),
        ({"filter": {"colour": "red"}}, "invalid_filter"),
        ({"filter": {"sources": ["oracle"]}}, "invalid_filter"),
        ({"reviewer_ids": [viewer.pk]}, "invalid_reviewer"),
        ({"reviewers_per_item": 2, "quorum": 3}, "invalid_parameter"),
    ]
    proposals_add(version, [(ids_of(version)[0], "dog", 0.5, 0.2)])
    for kwargs, code in cases:
        with pytest.raises(ApplicationError) as refused:
            review_queue_create(version=version, name="q", **kwargs)
        assert refused.value.code == code, kwargs
    assert (ReviewQueue.objects.count(), ReviewItem.objects.count()) == (0, 0)


def two_reviewers_vote(queue, reviewers, plan):
    """plan: {position: [(label, value of reviewer 0, value of reviewer 1), ...]}; both submit each item."""
    for position, votes in plan.items():
        item = queue.items.get(position=position)
        for label, *values in votes:
            for reviewer, value in zip(reviewers, values, strict=False):
                review_vote_cast(item_id=item.pk, reviewer=reviewer, label=label, value=value)
        for reviewer in reviewers[:2]:
            review_item_submit(item_id=item.pk, reviewer=reviewer)


def test_disputed_items_make_a_disagreement_queue(small_queue, reviewers):
    queue = small_queue(n_items=2, reviewers_per_item=2)
    two_reviewers_vote(queue, reviewers, {1: [("dog", "yes", "no")], 2: [("cat", "yes", "yes")]})

    child = review_disagreement_queue_create(queue=queue, reviewer_ids=[reviewers[2].pk, reviewers[3].pk])

    item = child.items.get()
    assert (child.kind, child.parent_id, child.item_count, child.filter) == (
        "disagreement",
        queue.pk,
        1,
        {"disputed_of": queue.pk},
    )
    assert item.sample_id == queue.items.get(position=1).sample_id
    assert [c["earlier_votes"] for c in item.candidates] == [
        {"yes": 0, "maybe": 0, "no": 2},
        {"yes": 1, "maybe": 0, "no": 1},
    ]
    assert sorted(child.reviewers.values_list("username", flat=True)) == ["rev2", "rev3"]


def test_applying_consensus_makes_a_new_version_with_consensus_label_sets(small_queue, reviewers):
    queue = small_queue(n_items=3, reviewers_per_item=2)
    s = list(queue.items.order_by("position").values_list("sample_id", flat=True))
    two_reviewers_vote(
        queue,
        reviewers,
        {
            1: [("cat", "yes", "yes"), ("dog", "yes", "yes")],  # a second object: cat + dog
            2: [("dog", "no", "no"), ("bird", "yes", "yes")],  # wrong label: dog -> bird
            3: [("bird", "yes", "no")],  # disputed: unchanged
        },
    )
    source = queue.version

    version = review_queue_apply(queue=queue, user=reviewers[0])

    assert (version.operation, version.parent_id, version.number, version.sample_count) == (
        VersionOperation.RELABEL, source.pk, 2, source.sample_count,
    )  # fmt: skip
    members = {m.sample_id: m for m in VersionSample.objects.filter(version=version)}
    assert (members[s[0]].label, members[s[0]].labels) == (
        "cat", [{"label": "cat", "origin": "consensus"}, {"label": "dog", "origin": "consensus"}],
    )  # fmt: skip
    assert (members[s[1]].label, members[s[1]].label_origin, members[s[1]].labels) == (
        "bird", LabelOrigin.CONSENSUS, [{"label": "bird", "origin": "consensus"}],
    )  # fmt: skip
    assert (members[s[2]].label, members[s[2]].labels) == ("bird", [{"label": "bird", "origin": "import"}])
    assert version.operation_params == {
        "review_queue": queue.pk, "base_version": source.pk, "reviewed": 2, "changed": 2, "confirmed": 0, "emptied": 0,
        "skipped_not_in_base": [], "dawid_skene_refit_changed": 0, "disputed": 1, "open": 0,
    }  # fmt: skip
    queue.refresh_from_db()
    assert (queue.status, queue.applied_version_id) == ("applied", version.pk)
    assert review_queue_apply(queue=queue).pk == version.pk  # idempotent
    assert DatasetVersion.objects.filter(dataset=source.dataset).count() == 2


def test_apply_onto_a_later_version_skips_samples_it_no_longer_has(small_queue, reviewers):
    queue = small_queue(n_items=2)
    first, second = queue.items.order_by("position")
    for item in (first, second):
        review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="bird", value="yes")
        review_item_submit(item_id=item.pk, reviewer=reviewers[0])
    pruned = DatasetVersion.objects.create(
        dataset=queue.version.dataset, number=2, parent=queue.version, operation="prune", sample_count=2
    )
    for member in VersionSample.objects.filter(version=queue.version).exclude(sample_id=first.sample_id):
        VersionSample.objects.create(version=pruned, sample=member.sample, label=member.label, labels=member.labels)

    version = review_queue_apply(queue=queue, base=pruned)

    assert (version.parent_id, version.number) == (pruned.pk, 3)
    assert version.operation_params["skipped_not_in_base"] == [first.sample_id]
    assert VersionSample.objects.get(version=version, sample_id=second.sample_id).label_names == ["bird"]
    assert not VersionSample.objects.filter(version=version, sample_id=first.sample_id).exists()


def test_a_queue_without_consensus_cannot_be_applied_and_writes_no_version(small_queue):
    queue = small_queue()

    with pytest.raises(ApplicationError) as refused:
        review_queue_apply(queue=queue)

    assert refused.value.code == "nothing_agreed"
    assert DatasetVersion.objects.filter(dataset=queue.version.dataset).count() == 1


def test_taxonomy_changes_are_recorded_and_map_labels_when_applying(small_queue, reviewers):
    queue = small_queue(n_items=1)
    item = queue.items.get()
    dataset = queue.version.dataset
    review_vote_cast(item_id=item.pk, reviewer=reviewers[0], label="dog", value="yes")
    review_item_submit(item_id=item.pk, reviewer=reviewers[0])

    taxonomy_class_add(dataset=dataset, name="  fox ")
    taxonomy_class_rename(dataset=dataset, name="dog", new_name="canine")
    taxonomy_classes_merge(dataset=dataset, names=["canine", "fox"], into="mammal")
    version = review_queue_apply(queue=queue)

    dataset.refresh_from_db()
    assert dataset.classes == ["cat", "mammal", "bird"]
    assert list(TaxonomyChange.objects.values_list("action", "sources", "target")) == [
        ("add", [], "fox"), ("rename", ["dog"], "canine"), ("merge", ["canine", "fox"], "mammal"),
    ]  # fmt: skip
    assert taxonomy_label_map(dataset) == {"dog": "mammal", "canine": "mammal", "fox": "mammal"}
    assert VersionSample.objects.get(version=version, sample_id=item.sample_id).label_names == ["mammal"]
    with pytest.raises(ApplicationError) as exists:
        taxonomy_class_rename(dataset=dataset, name="cat", new_name="bird")
    assert exists.value.code == "class_exists"


def test_bulk_labeling_records_votes_with_their_origin_and_checks_the_whole_selection(version, reviewers):
    s = ids_of(version)
    queue = review_queue_create(
        version=version,
        name="label",
        kind=QueueKind.LABELING,
        filter={"classes": ["cat"]},
        reviewer_ids=[reviewers[0].pk],
    )
    other = version_with_samples(1)

    with pytest.raises(ApplicationError) as outside:
        review_bulk_label(queue=queue, reviewer=reviewers[0], sample_ids=[s[0], *ids_of(other)], label="bird")
    assert (outside.value.code, ReviewItem.objects.filter(queue=queue).count()) == ("not_in_version", 2)

    counts = review_bulk_label(
        queue=queue, reviewer=reviewers[0], sample_ids=[s[0], s[1]], label="bird", origin="bulk_map"
    )

    assert counts == {"selected": 2, "voted": 2, "items_added": 1, "closed_or_done": 0}
    assert [r for r in vote_rows(queue) if r[3] == "bulk_map"] == [
        ("rev0", "bird", "yes", "bulk_map", True, False), ("rev0", "bird", "yes", "bulk_map", True, False),
    ]  # fmt: skip
    assert sorted(queue.items.filter(state=ItemState.AGREED).values_list("sample_id", flat=True)) == [s[0], s[1]]


def test_truth_scores_count_proposals_of_missing_labels(version):
    s = ids_of(version)  # labels cat, dog, bird, cat, dog, bird
    records = {
        "a": ["cat"], "b": ["cat"],  # sample 1 was labelled dog: noise
        "c": ["bird", "dog"],  # multi-object, dog missing
        "d": ["cat"], "e": ["dog"], "f": ["bird"],
    }  # fmt: skip
    shas = dict(VersionSample.objects.filter(version=version).values_list("sample_id", "sample__sha256"))
    document = {
        "format": TRUTH_FORMAT,
        "samples": {
            name: {"sha256": shas[s[i]], "true_labels": labels} for i, (name, labels) in enumerate(records.items())
        },
    }
    blob_save(key="demo/truth-test.json", data=json.dumps(document).encode())
    DatasetVersion.objects.filter(pk=version.pk).update(
        operation="demo", operation_params={"truth_key": "demo/truth-test.json"}
    )
    version.refresh_from_db()

    scores = proposal_truth_scores(version, [(s[1], "cat"), (s[2], "cat"), (s[0], "dog")])

    assert scores == {
        "proposals": 3, "right": 1, "precision": 0.3333, "noise_missing": 1, "noise_found": 1, "noise_recall": 1.0,
        "multi_object_missing": 1, "multi_object_found": 0, "multi_object_recall": 0.0, "recall": 0.5, "missing": 2,
    }  # fmt: skip


def test_agreement_matches_cohens_kappa_on_the_same_units(small_queue, reviewers):
    queue = small_queue(n_items=3, reviewers_per_item=2)
    two_reviewers_vote(
        queue,
        reviewers,
        {
            1: [("cat", "yes", "yes"), ("dog", "no", "maybe")],
            2: [("dog", "yes", "yes"), ("bird", "no", "no")],
            3: [("bird", "yes", "no")],
        },
    )

    agreement = queue_agreement(queue)

    units = [
        ("cat", "yes", "yes"),
        ("dog", "no", "maybe"),
        ("dog", "yes", "yes"),
        ("bird", "no", "no"),
        ("bird", "yes", "no"),
        ("cat", "no", "no"),
    ]
    first, second = [u[1] for u in units], [u[2] for u in units]
    (pair,) = agreement["pairs"]
    assert (pair["first"], pair["second"], pair["units"]) == ("rev0", "rev1", 6)
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(first, second))
    assert agreement["fleiss"]["units"] == 6
    assert [r["reviewer"] for r in agreement["reviewers"]] == ["rev0", "rev1"]


def test_label_sets_of_an_applied_version_feed_real_and_multilabel_accuracy(small_queue, reviewers):
    queue = small_queue(n_items=2, reviewers_per_item=2)
    two_reviewers_vote(
        queue, reviewers, {1: [("cat", "yes", "yes"), ("dog", "maybe", "maybe")], 2: [("dog", "no", "no")]}
    )
    version = review_queue_apply(queue=queue)

    sets = version_label_sets(version)

    assert sets.correct == [{"cat"}, set(), {"bird"}]
    assert sets.unclear == [{"dog"}, set(), set()]
    index = {c: i for i, c in enumerate(CLASSES)}
    correct = label_set_matrix([{index[c] for c in s} for s in sets.correct], 3)
    unclear = label_set_matrix([{index[c] for c in s} for s in sets.unclear], 3)
    predictions = np.array([index["dog"], index["cat"], index["bird"]])
    assert real_accuracy(predictions[:, None], correct) == (0.5, 2)  # the emptied image is excluded
    mean, per_class = multilabel_accuracy(predictions, correct, unclear, np.array([0, 1, 2]))
    assert (mean, per_class) == (1.0, {0: 1.0, 2: 1.0})
