# Over 300 lines: the queue filters (proposals, members, slices, clusters) and the three queue creators share
# QueueFilter and item_candidates.
"""Creating review queues from a filter, assigning reviewers, and queues of disputed items.

A filter (JSON) chooses samples of the queue's version:
    sources: proposal sources; proposal_runs: run ids; min_issue_score, min_score: floor on a proposal's
    issue score / score (these four select samples that have a matching proposal);
    classes: the sample's primary label is one of these; cluster_run + clusters: members of those clusters;
    unlabeled: members without a primary label; slice_report + slice: members of a failure slice;
    limit: at most this many items (default 500).
A relabel queue with no proposal criterion takes the samples that have any proposal. Items are
ordered by their best issue score, then best proposal score, then sample id. Each item's candidates
are the sample's current labels, then the proposed labels (best score first), at most nine (the
number keys). Creating a queue from a filter that selects nothing is refused (empty_filter) and
writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from curation.models import DatasetVersion, VersionSample
from curation.pruning.models import ClusterRun
from curation.pruning.selectors.clusters import cluster_sample_ids
from curation.review.models import (
    Aggregation,
    ItemState,
    LabelProposal,
    ProposalSource,
    QueueKind,
    ReviewItem,
    ReviewQueue,
)
from curation.review.services.truth import proposal_truth_scores
from explain.slices.models import SliceReport
from explain.slices.selectors import slice_sample_ids

MAX_CANDIDATES = 9
MAX_REVIEWERS_PER_ITEM = 10
DEFAULT_LIMIT = 500
MAX_LIMIT = 20000
FILTER_KEYS = {
    "sources", "proposal_runs", "min_issue_score", "min_score", "classes", "cluster_run", "clusters", "unlabeled",
    "limit", "slice_report", "slice",
}  # fmt: skip


@dataclass(frozen=True)
class QueueFilter:
    sources: tuple[str, ...] = ()
    proposal_runs: tuple[int, ...] = ()
    min_issue_score: float | None = None
    min_score: float | None = None
    classes: tuple[str, ...] = ()
    cluster_run: int | None = None
    clusters: tuple[int, ...] = ()
    unlabeled: bool = False
    limit: int = DEFAULT_LIMIT
    slice_report: int | None = None
    slice: int | None = None
    stored: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def uses_proposals(self) -> bool:
        return (
            bool(self.sources or self.proposal_runs) or self.min_issue_score is not None or self.min_score is not None
        )

    @property
    def uses_members(self) -> bool:
        return bool(self.classes or self.clusters or self.unlabeled or self.slice_report is not None)


def _invalid_filter(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_filter")


def queue_filter_parse(raw: dict[str, Any] | None) -> QueueFilter:
    """The checked filter; ApplicationError invalid_filter names the first problem."""
    raw = dict(raw or {})
    unknown = set(raw) - FILTER_KEYS
    if unknown:
        raise _invalid_filter(f"unknown filter keys: {', '.join(sorted(unknown))}")
    try:
        flt = QueueFilter(
            sources=tuple(str(s) for s in raw.get("sources") or ()),
            proposal_runs=tuple(int(r) for r in raw.get("proposal_runs") or ()),
            min_issue_score=None if raw.get("min_issue_score") is None else float(raw["min_issue_score"]),
            min_score=None if raw.get("min_score") is None else float(raw["min_score"]),
            classes=tuple(str(c) for c in raw.get("classes") or ()),
            cluster_run=None if raw.get("cluster_run") is None else int(raw["cluster_run"]),
            clusters=tuple(int(c) for c in raw.get("clusters") or ()),
            unlabeled=bool(raw.get("unlabeled", False)),
            limit=int(raw.get("limit") or DEFAULT_LIMIT),
            slice_report=None if raw.get("slice_report") is None else int(raw["slice_report"]),
            slice=None if raw.get("slice") is None else int(raw["slice"]),
        )
    except (TypeError, ValueError) as exc:
        raise _invalid_filter(f"malformed filter: {exc}")
    bad_sources = set(flt.sources) - set(ProposalSource.values)
    if bad_sources:
        raise _invalid_filter(f"unknown sources: {', '.join(sorted(bad_sources))}")
    if bool(flt.clusters) != (flt.cluster_run is not None):
        raise _invalid_filter("clusters and cluster_run go together")
    if (flt.slice_report is None) != (flt.slice is None):
        raise _invalid_filter("slice_report and slice go together")
    if not 1 <= flt.limit <= MAX_LIMIT:
        raise _invalid_filter(f"limit must be between 1 and {MAX_LIMIT}")
    stored = {key: value for key, value in raw.items() if value not in (None, [], (), False, "")}
    return QueueFilter(**{**flt.__dict__, "stored": stored})


def _matching_proposals(version: DatasetVersion, flt: QueueFilter) -> Any:
    proposals = LabelProposal.objects.filter(version=version)
    if flt.sources:
        proposals = proposals.filter(source__in=flt.sources)
    if flt.proposal_runs:
        proposals = proposals.filter(run_id__in=flt.proposal_runs)
    if flt.min_issue_score is not None:
        proposals = proposals.filter(issue_score__gte=flt.min_issue_score)
    if flt.min_score is not None:
        proposals = proposals.filter(score__gte=flt.min_score)
    return proposals


def _member_filter(version: DatasetVersion, flt: QueueFilter) -> Any:
    members = VersionSample.objects.filter(version=version)
    if flt.unlabeled:
        members = members.filter(label="")
    if flt.classes:
        members = members.filter(label__in=flt.classes)
    if flt.cluster_run is not None:
        members = members.filter(sample_id__in=_cluster_members(version, flt))
    if flt.slice_report is not None:
        members = members.filter(sample_id__in=_slice_members(version, flt))
    return members


def _slice_members(version: DatasetVersion, flt: QueueFilter) -> list[int]:
    report = SliceReport.objects.filter(pk=flt.slice_report or 0, version=version).first()
    ids = slice_sample_ids(report, flt.slice or 0) if report is not None else None
    if ids is None:
        raise _invalid_filter(f"failure-slice report {flt.slice_report} of this version has no slice {flt.slice}")
    return ids


def _cluster_members(version: DatasetVersion, flt: QueueFilter) -> list[int]:
    run = ClusterRun.objects.filter(pk=flt.cluster_run or 0, version__dataset_id=version.dataset_id).first()
    if run is None:
        raise _invalid_filter(f"cluster run {flt.cluster_run} is not a cluster run of this dataset")
    return [int(s) for index in flt.clusters for s in cluster_sample_ids(run, index)]


def queue_samples_select(version: DatasetVersion, flt: QueueFilter, kind: str) -> list[int]:
    """The sample ids the filter chooses, in queue order (see the module comment)."""
    members = _member_filter(version, flt).values("sample_id")
    if flt.uses_proposals or (kind != QueueKind.LABELING and not flt.uses_members):
        ranked = (
            _matching_proposals(version, flt)
            .filter(sample_id__in=members)
            .values("sample_id")
            .annotate(issue=Max("issue_score"), best=Max("score"))
            .order_by("-issue", "-best", "sample_id")
        )
        return [row["sample_id"] for row in ranked[: flt.limit]]
    return list(members.order_by("sample_id").values_list("sample_id", flat=True)[: flt.limit])


def item_candidates(
    labels: list[dict[str, Any]], proposals: Iterable[LabelProposal], *, limit: int = MAX_CANDIDATES
) -> list[dict[str, Any]]:
    """Current labels first, then proposed labels by best score; each with its sources and scores."""
    candidates: list[dict[str, Any]] = [
        {"label": entry["label"], "current": True, "sources": [{"source": "current", "origin": entry.get("origin")}]}
        for entry in labels
    ]
    by_label: dict[str, dict[str, float]] = defaultdict(dict)
    for proposal in proposals:
        best = by_label[proposal.label].get(proposal.source)
        by_label[proposal.label][proposal.source] = max(proposal.score, best if best is not None else -1.0)
    known = {c["label"]: c for c in candidates}
    for label, scores in sorted(by_label.items(), key=lambda item: (-max(item[1].values()), item[0])):
        sources = [{"source": s, "score": round(v, 4)} for s, v in sorted(scores.items(), key=lambda kv: -kv[1])]
        if label in known:
            known[label]["sources"] += sources
        elif len(candidates) < limit:
            candidates.append({"label": label, "current": False, "sources": sources})
    return candidates


def _reviewers_checked(reviewer_ids: Iterable[int]) -> list[User]:
    ids = sorted({int(i) for i in reviewer_ids})
    users = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
    missing = sorted(set(ids) - {u.pk for u in users})
    if missing:
        raise ApplicationError(f"No active users with ids {missing}.", code="invalid_reviewer")
    unable = sorted(u.get_username() for u in users if not user_can(u, Capability.REVIEW))
    if unable:
        raise ApplicationError(
            f"These users' role does not allow reviewing: {', '.join(unable)}.", code="invalid_reviewer"
        )
    return users


def _settings_check(name: str, reviewers_per_item: int, quorum: int, aggregation: str, kind: str) -> None:
    if not name.strip():
        raise ApplicationError("A queue needs a name.", code="invalid_parameter")
    if not 1 <= reviewers_per_item <= MAX_REVIEWERS_PER_ITEM:
        raise ApplicationError(f"reviewers_per_item must be 1..{MAX_REVIEWERS_PER_ITEM}.", code="invalid_parameter")
    if not 1 <= quorum <= reviewers_per_item:
        raise ApplicationError("quorum must be between 1 and reviewers_per_item.", code="invalid_parameter")
    if aggregation not in Aggregation.values:
        raise ApplicationError(f"aggregation must be one of {', '.join(Aggregation.values)}.", code="invalid_parameter")
    if kind not in (QueueKind.RELABEL, QueueKind.LABELING):
        raise ApplicationError("kind must be relabel or labeling.", code="invalid_parameter")


@transaction.atomic
def review_queue_create(
    *,
    version: DatasetVersion,
    name: str,
    filter: dict[str, Any] | None = None,
    kind: str = QueueKind.RELABEL,
    reviewers_per_item: int = 1,
    quorum: int | None = None,
    aggregation: str = Aggregation.AUTO,
    reviewer_ids: Iterable[int] = (),
    user: User | None = None,
) -> ReviewQueue:
    """A queue of the samples the filter selects (see the module comment).

    quorum: submitted reviews that close an item (default reviewers_per_item). Raises ApplicationError:
    invalid_filter, invalid_parameter, invalid_reviewer, empty_filter.
    """
    quorum = reviewers_per_item if quorum is None else quorum
    _settings_check(name, reviewers_per_item, quorum, aggregation, kind)
    flt = queue_filter_parse(filter)
    reviewers = _reviewers_checked(reviewer_ids)
    sample_ids = queue_samples_select(version, flt, kind)
    if not sample_ids:
        raise ApplicationError(
            "The filter selects no sample of this version: nothing to review.", code="empty_filter", details=flt.stored
        )
    proposals_by_sample: dict[int, list[LabelProposal]] = defaultdict(list)
    scope = _matching_proposals(version, flt) if flt.uses_proposals else LabelProposal.objects.filter(version=version)
    for proposal in scope.filter(sample_id__in=sample_ids).only("sample_id", "label", "source", "score"):
        proposals_by_sample[proposal.sample_id].append(proposal)
    labels_of = dict(
        VersionSample.objects.filter(version=version, sample_id__in=sample_ids).values_list("sample_id", "labels")
    )
    queue = ReviewQueue.objects.create(
        version=version, name=name.strip()[:200], kind=kind, filter=flt.stored, reviewers_per_item=reviewers_per_item,
        quorum=quorum, aggregation=aggregation, created_by=user, item_count=len(sample_ids),
    )  # fmt: skip
    queue.reviewers.set(reviewers)
    items = [
        ReviewItem(
            queue=queue, sample_id=sample_id, position=position,
            candidates=item_candidates(labels_of.get(sample_id, []), proposals_by_sample[sample_id]),
        )
        for position, sample_id in enumerate(sample_ids, start=1)
    ]  # fmt: skip
    ReviewItem.objects.bulk_create(items, batch_size=2000)
    queue.summary = _queue_summary(version, items)
    queue.save(update_fields=["summary"])
    return queue


def _queue_summary(version: DatasetVersion, items: list[ReviewItem]) -> dict[str, Any]:
    proposed = [(item.sample_id, c["label"]) for item in items for c in item.candidates if not c["current"]]
    return {"items": len(items), "proposed_labels": len(proposed), "truth": proposal_truth_scores(version, proposed)}


@transaction.atomic
def review_queue_reviewers_set(*, queue: ReviewQueue, reviewer_ids: Iterable[int]) -> ReviewQueue:
    """Replace the queue's assigned reviewers (each must have the review capability)."""
    queue.reviewers.set(_reviewers_checked(reviewer_ids))
    return queue


def _earlier_votes(item: ReviewItem, label: str) -> dict[str, int] | None:
    return item.consensus.get(label, {}).get("votes")


@transaction.atomic
def review_disagreement_queue_create(
    *,
    queue: ReviewQueue,
    reviewer_ids: Iterable[int] = (),
    reviewers_per_item: int | None = None,
    quorum: int | None = None,
    user: User | None = None,
) -> ReviewQueue:
    """A queue of `queue`'s disputed items (same candidates; each candidate carries the earlier votes).

    Raises ApplicationError empty_filter when no item is disputed.
    """
    disputed = list(queue.items.filter(state=ItemState.DISPUTED).order_by("position"))
    if not disputed:
        raise ApplicationError(f"Queue {queue.pk} has no disputed item.", code="empty_filter")
    per_item = reviewers_per_item or queue.reviewers_per_item
    quorum = per_item if quorum is None else quorum
    _settings_check(f"{queue.name} disagreements", per_item, quorum, queue.aggregation, QueueKind.RELABEL)
    reviewers = _reviewers_checked(reviewer_ids) if reviewer_ids else list(queue.reviewers.all())
    child = ReviewQueue.objects.create(
        version=queue.version, name=f"{queue.name} · disagreements"[:200], kind=QueueKind.DISAGREEMENT,
        filter={"disputed_of": queue.pk}, reviewers_per_item=per_item, quorum=quorum, aggregation=queue.aggregation,
        parent=queue, created_by=user, item_count=len(disputed),
    )  # fmt: skip
    child.reviewers.set(reviewers)
    items = [
        ReviewItem(
            queue=child, sample_id=item.sample_id, position=position,
            candidates=[{**c, "earlier_votes": _earlier_votes(item, c["label"])} for c in item.candidates],
        )
        for position, item in enumerate(disputed, start=1)
    ]  # fmt: skip
    ReviewItem.objects.bulk_create(items)
    child.summary = {"items": len(items), "from_queue": queue.pk}
    child.save(update_fields=["summary"])
    return child


def slice_review_queue_create(*, report: SliceReport, number: int, user: User | None) -> ReviewQueue:
    """A relabel review queue of one slice's samples (the review app's queue filter `slice_report` + `slice`).

    Raises ApplicationError invalid_filter when the report has no such slice.
    """
    name = f"Slice #{number} of failure-slice report {report.pk} ({report.trained_model.name})"
    return review_queue_create(
        version=report.version, name=name, filter={"slice_report": report.pk, "slice": number, "limit": 20000},
        user=user,
    )  # fmt: skip
