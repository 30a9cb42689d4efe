"""Reads of the deletion audit."""

from django.db.models import QuerySet

from curation.deletion.models import Deletion


def deletion_list(*, target: str | None = None, target_id: int | None = None) -> QuerySet[Deletion]:
    """Deletions newest first, with their jobs; optionally of one target kind and id."""
    deletions = Deletion.objects.select_related("job").order_by("-id")
    if target is not None:
        deletions = deletions.filter(target=target)
    if target_id is not None:
        deletions = deletions.filter(target_id=target_id)
    return deletions
