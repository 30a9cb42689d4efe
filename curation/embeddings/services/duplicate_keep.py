"""Keep one sample of each near-duplicate group: a new version without the other copies.

Only near-duplicate groups count: their members are the same photo, confirmed from the pixels.
Semantic groups (similar content, not copies) are left alone: removing those is SemDeDup's job,
with its own budget. Exact duplicates are already one sample (the import stores bytes once).
The kept member is the one with the most pixels (the least compressed or cropped copy), then the
lowest id, so the choice is the same every time.
"""

from typing import Any

from django.contrib.auth.models import User

from curation.embeddings.models import DuplicateKind, DuplicateRun
from curation.models import DatasetVersion, Sample
from curation.services.selections import version_from_selection


def duplicate_copies_to_drop(run: DuplicateRun) -> list[int]:
    """Every near-duplicate group member but the one kept (most pixels, then lowest id)."""
    groups = list(run.groups.filter(kind=DuplicateKind.NEAR).values_list("sample_ids", flat=True))
    members = {int(i) for ids in groups for i in ids}
    pixels = {
        pk: width * height
        for pk, width, height in Sample.objects.filter(pk__in=members).values_list("pk", "width", "height")
    }
    drop: list[int] = []
    for ids in groups:
        kept = min(ids, key=lambda i: (-pixels.get(int(i), 0), int(i)))
        drop.extend(int(i) for i in ids if i != kept)
    return sorted(drop)


def duplicate_run_keep_one(*, run: DuplicateRun, user: User | None) -> DatasetVersion:
    """A child of the run's version without the extra copies of each near-duplicate group.

    Raises ApplicationError `empty_selection` when the run has no near-duplicate group.
    """
    drop = duplicate_copies_to_drop(run)
    selection: dict[str, Any] = {"duplicate_run": run.pk, "rule": "one per near-duplicate group"}
    return version_from_selection(version=run.version, sample_ids=drop, keep=False, user=user, selection=selection)
