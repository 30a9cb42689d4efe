# Over 300 lines: the review reads (runs, queues, progress, an item, agreement, the vote audit) share the item and
# queue annotations.
"""Reads of the review app: proposal runs, queues and their progress, one item as a reviewer sees it,
agreement between reviewers, the vote audit, and the label sets a version's metrics use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, Q, QuerySet

from core.api_errors import ApplicationError
from core.sql_rows import ModelColumns
from curation.embeddings.selectors import embedding_set_latest_ready, sample_similar
from curation.models import Dataset, DatasetVersion, VersionSample
from curation.review.ml.agreement import cohen_kappa, fleiss_kappa
from curation.review.models import (
    ItemState,
    ProposalRun,
    ReviewAssignment,
    ReviewItem,
    ReviewQueue,
    ReviewVote,
    VoteOrigin,
)
from curation.review.services.consensus import VALUE_INDEX, VALUES, counted_votes

NEIGHBOURS = 8


def proposal_runs_of_version(version: DatasetVersion) -> QuerySet[ProposalRun]:
    return ProposalRun.objects.filter(version=version).select_related("created_by").order_by("-id")


def proposal_run_get(proposal_run_id: int) -> ProposalRun | None:
    return ProposalRun.objects.select_related("version__dataset").filter(pk=proposal_run_id).first()


def review_queue_list(*, version_id: int | None = None, reviewer: Any = None) -> QuerySet[ReviewQueue]:
    """Queues, newest first; of one version, or assigned to one reviewer."""
    queues = ReviewQueue.objects.select_related("version__dataset", "created_by").order_by("-id")
    if version_id is not None:
        queues = queues.filter(version_id=version_id)
    if reviewer is not None:
        queues = queues.filter(reviewers=reviewer)
    return queues.annotate(closed=Count("items", filter=~Q(items__state=ItemState.OPEN), distinct=True))


_QUEUE, _PARENT = ModelColumns(ReviewQueue, "q"), ModelColumns(ReviewQueue, "p")
_VERSION, _APPLIED = ModelColumns(DatasetVersion, "v"), ModelColumns(DatasetVersion, "a")
_DATASET = ModelColumns(Dataset, "d")
# What select_related("version__dataset", "parent", "applied_version") reads, as fixed text: every queue request
# (next item among them) reads its queue so.
_DATASET_AT = _QUEUE.width + _VERSION.width
_PARENT_AT = _DATASET_AT + _DATASET.width
_APPLIED_AT = _PARENT_AT + _PARENT.width
_QUEUE_SQL = f"""
SELECT {_QUEUE.select}, {_VERSION.select}, {_DATASET.select}, {_PARENT.select}, {_APPLIED.select}
FROM "{ReviewQueue._meta.db_table}" q JOIN "{DatasetVersion._meta.db_table}" v ON v."id" = q."version_id"
    JOIN "{Dataset._meta.db_table}" d ON d."id" = v."dataset_id"
    LEFT JOIN "{ReviewQueue._meta.db_table}" p ON p."id" = q."parent_id"
    LEFT JOIN "{DatasetVersion._meta.db_table}" a ON a."id" = q."applied_version_id"
WHERE q."id" = %s
"""  # noqa: S608


def review_queue_get(queue_id: int) -> ReviewQueue | None:
    """The queue with its version, dataset, parent and applied version; None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute(_QUEUE_SQL, [queue_id])
        row = cursor.fetchone()
    if row is None:
        return None
    queue, version = _QUEUE.build(row[: _QUEUE.width]), _VERSION.build(row[_QUEUE.width : _DATASET_AT])
    version.dataset = _DATASET.build(row[_DATASET_AT:_PARENT_AT])
    queue.version = version
    queue.parent, queue.applied_version = _PARENT.build_at(row, _PARENT_AT), _APPLIED.build_at(row, _APPLIED_AT)
    return queue


def queue_is_assigned(queue: ReviewQueue, user: Any) -> bool:
    return bool(user.is_authenticated) and queue.reviewers.filter(pk=user.pk).exists()


@dataclass(frozen=True)
class QueueProgress:
    items: int
    by_state: dict[str, int]
    votes: int
    reviewers: list[dict[str, Any]]  # [{reviewer, username, submitted, skipped, claimed, votes}]

    @property
    def closed(self) -> int:
        return self.items - self.by_state.get(ItemState.OPEN, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.closed / self.items) if self.items else 0


def queue_progress(queue: ReviewQueue) -> QueueProgress:
    by_state = dict(queue.items.values_list("state").annotate(n=Count("pk")).order_by())
    per_reviewer: dict[int, dict[str, Any]] = {
        user.pk: {"reviewer": user.pk, "username": user.get_username(), "submitted": 0, "skipped": 0, "claimed": 0}
        for user in queue.reviewers.order_by("username")
    }
    states = (
        ReviewAssignment.objects.filter(item__queue=queue)
        .values("reviewer_id", "reviewer__username", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for entry in states:
        reviewer_id, username, state = entry["reviewer_id"], entry["reviewer__username"], entry["state"]
        row = per_reviewer.setdefault(
            reviewer_id, {"reviewer": reviewer_id, "username": username, "submitted": 0, "skipped": 0, "claimed": 0}
        )
        row[state] = row.get(state, 0) + entry["n"]
    votes = dict(
        ReviewVote.objects.filter(item__queue=queue, undone_at__isnull=True)
        .exclude(origin=VoteOrigin.IMPLICIT)
        .values_list("reviewer_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for reviewer_id, row in per_reviewer.items():
        row["votes"] = votes.get(reviewer_id, 0)
    return QueueProgress(queue.item_count, by_state, sum(votes.values()), list(per_reviewer.values()))


@dataclass(frozen=True)
class Neighbour:
    sample_id: int
    similarity: float
    label: str
    labels: list[str]


@dataclass
class ItemView:
    """One item as the review page shows it to one reviewer."""

    item: ReviewItem
    member: VersionSample | None
    candidates: list[dict[str, Any]]  # each candidate plus "key" (1..9) and "my_vote"
    classes: list[str]
    neighbours: list[Neighbour] = field(default_factory=list)
    neighbours_note: str = ""
    assignment_state: str = ""
    in_latest_version: bool = True
    latest_version_number: int | None = None


def review_item_get(item_id: int) -> ReviewItem | None:
    return ReviewItem.objects.select_related("queue__version__dataset", "sample").filter(pk=item_id).first()


def item_view(
    item: ReviewItem, reviewer: Any, *, page_extras: bool = True, assignment_state: str | None = None
) -> ItemView:
    """One item for one reviewer: their votes on its candidates, their assignment state, the sample's labels.

    page_extras: also the page's nearest neighbours and whether the sample is in the dataset's latest
    version (an embedding search and two queries the API, which answers neither, skips).
    assignment_state: the reviewer's assignment state when the caller knows it (the item it just served
    them is their claim), which saves reading it.
    """
    version = item.queue.version
    member, mine = _member_and_votes(item, reviewer)
    candidates = [
        {**candidate, "key": index + 1, "my_vote": mine.get(candidate["label"], "")}
        for index, candidate in enumerate(item.candidates)
    ]
    if assignment_state is None:
        assignment = ReviewAssignment.objects.filter(item=item, reviewer=reviewer).first()
        assignment_state = assignment.state if assignment else ""
    view = ItemView(
        item=item,
        member=member,
        candidates=candidates,
        classes=list(version.dataset.classes),
        assignment_state=assignment_state,
    )
    if page_extras:
        latest = version.dataset.versions.order_by("-number").first()
        view.latest_version_number = latest.number if latest else None
        view.in_latest_version = (
            latest is None or VersionSample.objects.filter(version=latest, sample_id=item.sample_id).exists()
        )
        view.neighbours, view.neighbours_note = item_neighbours(item)
    return view


_MEMBER = ModelColumns(VersionSample, "m")
# The sample's membership in the item's version and the reviewer's current votes on the item (implicit ones aside),
# one row per vote (one row of nulls for none): one statement of fixed text for what every shown item needs.
_MEMBER_AND_VOTES_SQL = f"""
SELECT {_MEMBER.select}, v."label", v."value" FROM (SELECT 1) one
LEFT JOIN "{VersionSample._meta.db_table}" m ON m."version_id" = %s AND m."sample_id" = %s
LEFT JOIN "{ReviewVote._meta.db_table}" v
    ON v."item_id" = %s AND v."reviewer_id" = %s AND v."is_current" AND v."origin" <> %s
"""  # noqa: S608


def _member_and_votes(item: ReviewItem, reviewer: Any) -> tuple[VersionSample | None, dict[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            _MEMBER_AND_VOTES_SQL,
            [item.queue.version_id, item.sample_id, item.pk, reviewer.pk, VoteOrigin.IMPLICIT.value],
        )
        rows = cursor.fetchall()
    width = _MEMBER.width
    member = _MEMBER.build_at(rows[0], 0) if rows else None
    return member, {row[width]: row[width + 1] for row in rows if row[width] is not None}


def item_neighbours(item: ReviewItem, k: int = NEIGHBOURS) -> tuple[list[Neighbour], str]:
    """The sample's nearest neighbours in the version's newest ready embedding set, with their labels."""
    version = item.queue.version
    embedding_set = embedding_set_latest_ready(version_id=version.pk)
    if embedding_set is None:
        return [], "No ready embedding set for this version: embed it to see neighbours."
    try:
        found = sample_similar(embedding_set=embedding_set, sample_id=item.sample_id, k=k)
    except ApplicationError as exc:
        return [], exc.message
    members = {
        m.sample_id: m
        for m in VersionSample.objects.filter(version=version, sample_id__in=[n.sample_id for n in found])
    }
    return [
        Neighbour(n.sample_id, round(n.score, 3), members[n.sample_id].label, members[n.sample_id].label_names)
        for n in found
        if n.sample_id in members
    ], ""


def queue_agreement(queue: ReviewQueue) -> dict[str, Any]:
    """Agreement of the queue's reviewers on (item, label) units, over submitted reviews.

    pairs: Cohen's kappa of every two reviewers on the units both rated; reviewers: each one's kappa
    against the consensus (closed items); fleiss: Fleiss' kappa over units rated by two or more.
    """
    item_ids = list(queue.items.values_list("pk", flat=True))
    votes = counted_votes(item_ids)
    names = dict(queue.reviewers.values_list("pk", "username"))
    ratings: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    for vote in votes:
        ratings[vote.reviewer_id][(vote.item_id, vote.label)] = VALUE_INDEX[vote.value]
    reviewers = sorted(ratings)
    pairs = []
    for i, first in enumerate(reviewers):
        for second in reviewers[i + 1 :]:
            shared = sorted(set(ratings[first]) & set(ratings[second]))
            if shared:
                kappa = cohen_kappa(
                    [ratings[first][u] for u in shared], [ratings[second][u] for u in shared], n_categories=len(VALUES)
                )
                pairs.append(
                    {
                        "first": names.get(first, first),
                        "second": names.get(second, second),
                        "units": len(shared),
                        "kappa": kappa,
                    }
                )
    consensus = _consensus_values(queue)
    per_reviewer = []
    for reviewer in reviewers:
        shared = sorted(set(ratings[reviewer]) & set(consensus))
        kappa = cohen_kappa(
            [ratings[reviewer][u] for u in shared], [consensus[u] for u in shared], n_categories=len(VALUES)
        )
        per_reviewer.append(
            {
                "reviewer": names.get(reviewer, reviewer),
                "units": len(ratings[reviewer]),
                "vs_consensus": kappa,
                "shared": len(shared),
            }
        )
    counts = np.zeros((0, len(VALUES)))
    units: dict[tuple[int, str], np.ndarray] = defaultdict(lambda: np.zeros(len(VALUES)))
    for vote in votes:
        units[(vote.item_id, vote.label)][VALUE_INDEX[vote.value]] += 1
    if units:
        counts = np.stack(list(units.values()))
    rated_twice = int((counts.sum(axis=1) >= 2).sum()) if counts.size else 0
    return {
        "pairs": pairs,
        "reviewers": per_reviewer,
        "fleiss": {"kappa": fleiss_kappa(counts) if counts.size else None, "units": rated_twice},
    }


def _consensus_values(queue: ReviewQueue) -> dict[tuple[int, str], int]:
    values = {}
    for item_id, consensus in queue.items.exclude(state=ItemState.OPEN).values_list("pk", "consensus"):
        for label, entry in consensus.items():
            if entry.get("value"):
                values[(item_id, label)] = VALUE_INDEX[entry["value"]]
    return values


def queue_votes(queue: ReviewQueue, *, after_id: int | None = None, size: int = 100) -> list[ReviewVote]:
    """Every vote of the queue (undone and superseded included), oldest first, a keyset page at a time."""
    votes = ReviewVote.objects.filter(item__queue=queue).select_related("reviewer", "item").order_by("id")
    if after_id is not None:
        votes = votes.filter(pk__gt=after_id)
    return list(votes[:size])


def queue_latest_votes(queue: ReviewQueue, *, size: int = 20) -> list[ReviewVote]:
    """The queue's newest votes, newest first."""
    return list(ReviewVote.objects.filter(item__queue=queue).select_related("reviewer", "item").order_by("-id")[:size])


@dataclass(frozen=True)
class VersionLabelSets:
    """Per member of a version: its valid labels (ReaL, "correct") and the labels reviewers found unclear."""

    sample_ids: np.ndarray
    primary: list[str]
    correct: list[set[str]]
    unclear: list[set[str]]


def version_label_sets(version: DatasetVersion) -> VersionLabelSets:
    """The version's label sets for ReaL / multi-label accuracy (curation.ml.label_sets).

    correct: each member's label set; unclear: labels whose consensus was "maybe" in the review queue
    that made this version (empty for versions not made by a review).
    """
    unclear_of: dict[int, set[str]] = {}
    queue = ReviewQueue.objects.filter(applied_version=version).first()
    if queue is not None:
        for sample_id, consensus in queue.items.filter(state=ItemState.AGREED).values_list("sample_id", "consensus"):
            unclear_of[sample_id] = {label for label, entry in consensus.items() if entry.get("value") == "maybe"}
    ids, primary, correct, unclear = [], [], [], []
    rows = (
        VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", "label", "labels")
    )
    for sample_id, label, labels in rows.iterator(chunk_size=5000):
        ids.append(sample_id)
        primary.append(label)
        correct.append({entry["label"] for entry in labels})
        unclear.append(unclear_of.get(sample_id, set()))
    return VersionLabelSets(np.asarray(ids, dtype=np.int64), primary, correct, unclear)
