"""Reads of the review app (review.py): proposal runs, queues and their progress, one item as a reviewer
sees it, agreement between reviewers, the vote audit, and the label sets a version's metrics use."""

from curation.review.selectors.review import (
    ItemView,
    Neighbour,
    QueueProgress,
    VersionLabelSets,
    item_neighbours,
    item_view,
    proposal_run_get,
    proposal_runs_of_version,
    queue_agreement,
    queue_is_assigned,
    queue_latest_votes,
    queue_progress,
    queue_votes,
    review_item_get,
    review_queue_get,
    review_queue_list,
    version_label_sets,
)

__all__ = [
    "ItemView",
    "Neighbour",
    "QueueProgress",
    "VersionLabelSets",
    "item_neighbours",
    "item_view",
    "proposal_run_get",
    "proposal_runs_of_version",
    "queue_agreement",
    "queue_is_assigned",
    "queue_latest_votes",
    "queue_progress",
    "queue_votes",
    "review_item_get",
    "review_queue_get",
    "review_queue_list",
    "version_label_sets",
]
