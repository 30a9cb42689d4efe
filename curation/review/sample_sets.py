"""The sample list's `review_state` (+ `review_queue`) filter and its sort by a proposal run's issue score
(`sort=issue_score` with `sort_run`), both registered in ReviewConfig.ready."""

from functools import partial
from typing import Any

from django.db.models import F, QuerySet

from core.sql_rows import Slots, compiled_query
from curation.apis.sample_sets import REVIEW_STATES, sample_set_invalid
from curation.models import DatasetVersion
from curation.review.models import ProposalIssue, ProposalRun, ReviewItem, ReviewQueue
from curation.sample_sorts import RunSortKind, sort_run_invalid


def review_state_sample_set(version: DatasetVersion, queue_id: int | None, state: str) -> QuerySet[Any]:
    """The samples whose review items (of one queue, or of every queue of the version) are in `state`."""
    if state not in REVIEW_STATES:
        allowed = ", ".join(REVIEW_STATES)
        raise sample_set_invalid("review_state", f"unknown review_state '{state}' (allowed: {allowed})")
    # The queue ids first (a version has a few queues): with them as constants PostgreSQL estimates the items in the
    # state from the items' own statistics and walks them in sample order (their sample index) beside the members.
    # Behind a join to the queues it guessed 1% of them and hashed, probed and sorted every one instead: at 1M
    # members with 12k open items, 311 ms for a page instead of 11 ms (bench/grid_load.py prints both plans).
    # (A statement compiled once per shape: the ORM compiled it on every filtered request.)
    statement = compiled_query(("review set queues", queue_id is not None), partial(_queues, one=queue_id is not None))
    queue_ids = [row[0] for row in statement.rows({"version": version.pk, "queue": queue_id})]
    return ReviewItem.objects.filter(queue_id__in=queue_ids, state=state).values("sample_id")


def _queues(slots: Slots, *, one: bool) -> QuerySet[Any]:
    queues = ReviewQueue.objects.filter(version_id=slots.int("version"))
    if one:
        queues = queues.filter(pk=slots.int("queue"))
    return queues.values_list("pk", flat=True)


def issue_score_rows(version: DatasetVersion, run_id: int) -> tuple[QuerySet[Any], int]:
    """A proposal run's samples by issue score (the grid's sort); samples without one are not listed."""
    run = ProposalRun.objects.filter(pk=run_id, version=version).first()
    if run is None or not run.issue_count:
        raise sort_run_invalid(f"proposal run {run_id} of this version has no issue scores", sort_run=run_id)
    return ProposalIssue.objects.filter(run=run).annotate(sort_value=F("issue_score")), run.issue_count


ISSUE_SCORE = RunSortKind(key="issue_score", title="Issue score", run_noun="proposal run", rows=issue_score_rows)
