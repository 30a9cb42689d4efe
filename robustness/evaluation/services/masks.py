"""Where a report's object masks come from: the dataset's own, or masks a provider estimated and stored.

The `masks` parameter of the attribute-edit suite, the spurious-feature report and Grad-CAM runs:
- "auto" (default): the dataset's own masks when a labelled member of the split has one, else the
  version's stored estimated masks (curation.masks; "estimated" first, then the newest set), else none;
- "dataset": the dataset's own masks only;
- any other provider name ("estimated", "clipseg:<weights>"): its stored set for the version (or an ancestor).
A report that needs masks and finds none fails before any job exists (`no_masks`), with what to run.
Every figure computed on estimated masks is marked: `describe()` goes into the report's JSON with the
provider, `estimated` and its IoU against true masks where it was measured (on the demo).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import QuerySet
from PIL import Image

from core.api_errors import ApplicationError
from core.storage import blob_read
from curation.masks.selectors import mask_set_for, mask_set_keys, provider_quality
from curation.ml.mask_registry import DATASET_MASKS, mask_provider_name_check
from curation.models import DatasetVersion, Sample, VersionSample
from robustness.evaluation.services.dataset import ALL_SPLITS

AUTO = "auto"
QUALITY_NOT_MEASURED = (
    "not measured: run `manage.py estimate_masks <demo version id> --provider {provider}` on a version with true masks"
)


@dataclass
class MaskSource:
    """The masks a report uses: the provider's name, whether they are estimated, and the stored keys."""

    provider: str
    estimated: bool
    mask_set_id: int | None = None
    keys: dict[int, str] = field(default_factory=dict)

    def key(self, sample: Sample) -> str:
        return self.keys.get(sample.pk, "") if self.estimated else sample.mask_key

    def mask(self, sample: Sample, size: int) -> np.ndarray | None:
        """The sample's mask resized like its image (shorter side, centre crop) to size×size bool, or None."""
        from robustness.ml.preprocessing import image_to_uint8  # noqa: PLC0415 - torch: a job's work

        key = self.key(sample)
        if not key:
            return None
        mask = Image.open(io.BytesIO(blob_read(key)))
        mask.load()
        return image_to_uint8(mask.convert("L"), size)[0].numpy() > 127

    def describe(self) -> dict[str, Any]:
        """What a report stores: provider, estimated, mask set, and the provider's measured quality."""
        quality = provider_quality(self.provider) if self.estimated else None
        note = QUALITY_NOT_MEASURED.format(provider=self.provider) if self.estimated and not quality else None
        return {
            "provider": self.provider, "estimated": self.estimated, "mask_set": self.mask_set_id,
            "quality": quality, "quality_note": note,
        }  # fmt: skip


DATASET_SOURCE = MaskSource(provider=DATASET_MASKS, estimated=False)


def masks_param_check(value: Any) -> str:
    """The `masks` parameter ("auto" or a provider name), or ApplicationError invalid_params."""
    if value is None or value == AUTO:
        return AUTO
    try:
        return mask_provider_name_check(value)
    except ValueError as error:
        raise ApplicationError(f"masks: {error}", code="invalid_params")


def _labelled(version: DatasetVersion, split: str) -> QuerySet[VersionSample]:
    members = VersionSample.objects.filter(version=version).exclude(label="")
    return members if split == ALL_SPLITS else members.filter(split=split)


def _where(version: DatasetVersion, split: str) -> str:
    place = "any member" if split == ALL_SPLITS else f"the {split} split"
    return f"{place} of {version.dataset.name!r} v{version.number}"


def mask_source_resolve(
    *, version: DatasetVersion, split: str, requested: str = AUTO, required: bool = True, purpose: str = ""
) -> MaskSource | None:
    """The mask source for a report on `split` of `version`, or None (only when not `required`).

    Raises ApplicationError `no_masks` when masks are required (or a provider was named) and none exist,
    with the command that makes them. purpose: why the report needs masks, for that message.
    """
    requested = masks_param_check(requested)
    if requested in (AUTO, DATASET_MASKS) and _labelled(version, split).exclude(sample__mask_key="").exists():
        return MaskSource(provider=DATASET_MASKS, estimated=False)
    if requested == DATASET_MASKS:
        raise ApplicationError(
            f"No labelled sample of {_where(version, split)} has an object mask of its own{purpose}. Import masks "
            f"with the images, or estimate them: `manage.py estimate_masks {version.pk} --provider estimated`, "
            "then ask for masks=estimated.",
            code="no_masks",
            details={"labelled_samples": _labelled(version, split).count(), "with_masks": 0, "masks": requested},
        )
    stored = mask_set_for(version=version, provider=None if requested == AUTO else requested)
    if stored is not None:
        return MaskSource(provider=stored.provider, estimated=True, mask_set_id=stored.pk, keys=mask_set_keys(stored))
    if requested == AUTO and not required:
        return None
    named = "" if requested == AUTO else f" by {requested}"
    provider = "estimated" if requested == AUTO else requested
    raise ApplicationError(
        f"No labelled sample of {_where(version, split)} has an object mask, and no masks{named} were estimated "
        f"for this version{purpose}. Estimate them first: `manage.py estimate_masks {version.pk} --provider "
        f"{provider}` (GrabCut, offline), then run this again (masks=auto uses them).",
        code="no_masks",
        details={"labelled_samples": _labelled(version, split).count(), "with_masks": 0, "masks": requested},
    )
