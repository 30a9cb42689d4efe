"""The sample list's `review_state` (+ `review_queue`) filter (registered in ReviewConfig.ready)."""

from curation.apis.sample_sets import REVIEW_STATES, sample_set_invalid
from curation.models import DatasetVersion
from curation.review.models import ReviewItem


def review_state_sample_set(version: DatasetVersion, queue_id: int | None, state: str) -> set[int]:
    """The samples whose review items (of one queue, or of every queue of the version) are in `state`."""
    if state not in REVIEW_STATES:
        allowed = ", ".join(REVIEW_STATES)
        raise sample_set_invalid("review_state", f"unknown review_state '{state}' (allowed: {allowed})")
    items = ReviewItem.objects.filter(queue__version=version, state=state)
    if queue_id is not None:
        items = items.filter(queue_id=queue_id)
    return set(items.values_list("sample_id", flat=True))
