"""Reads of stored mask sets: the set a version can use for a provider, and a provider's measured quality."""

from __future__ import annotations

from typing import Any

from curation.masks.models import EstimatedMask, MaskSet, MaskSetStatus
from curation.models import DatasetVersion


def mask_set_for(*, version: DatasetVersion, provider: str | None = None) -> MaskSet | None:
    """The ready set of `version` by `provider` (any provider when None, "estimated" first, then the newest),
    else that of the nearest ancestor: samples never change, so an ancestor's masks are theirs too."""
    current: DatasetVersion | None = version
    while current is not None:
        sets = MaskSet.objects.filter(version=current, status=MaskSetStatus.READY)
        if provider is not None:
            sets = sets.filter(provider=provider)
        found = sorted(sets, key=lambda s: (s.provider != "estimated", -s.pk))
        if found:
            return found[0]
        current = current.parent
    return None


def mask_set_keys(mask_set: MaskSet) -> dict[int, str]:
    """sample id -> PNG key of every sample the set has a mask for."""
    rows = EstimatedMask.objects.filter(mask_set=mask_set).exclude(mask_key="").values_list("sample_id", "mask_key")
    return dict(rows)


def provider_quality(provider: str) -> dict[str, Any] | None:
    """The provider's IoU against true masks from its newest set measured on a dataset that has them, else None."""
    measured = (
        MaskSet.objects.filter(provider=provider, status=MaskSetStatus.READY, quality__isnull=False)
        .order_by("-id")
        .first()
    )
    return dict(measured.quality) if measured is not None and measured.quality else None


def mask_set_list(*, version: DatasetVersion) -> list[MaskSet]:
    """The version's own mask sets (one per provider), newest first, with their jobs."""
    return list(MaskSet.objects.filter(version=version).select_related("job").order_by("-id"))
