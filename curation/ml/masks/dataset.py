"""``dataset``: the masks the dataset brings (imported with its images, or drawn by the demo builder)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curation.ml.mask_registry import DATASET_MASKS, MaskProviderSpec
from curation.ml.masks.base import MaskProvider


class DatasetMasks(MaskProvider):
    spec = MaskProviderSpec(
        name=DATASET_MASKS, family=DATASET_MASKS, method="the dataset's own object masks", estimated=False
    )

    def masks(
        self,
        images: Sequence[np.ndarray],
        *,
        class_names: Sequence[str] | None = None,
        dataset_masks: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray | None]:
        given = list(dataset_masks) if dataset_masks is not None else [None] * len(images)
        if len(given) != len(images):
            raise ValueError(f"{len(images)} images but {len(given)} dataset masks")
        found: list[np.ndarray | None] = []
        for image, mask in zip(images, given, strict=True):
            if mask is not None and mask.shape != image.shape[:2]:
                raise ValueError(f"dataset mask {mask.shape} does not match its image {image.shape[:2]}")
            found.append(None if mask is None else np.asarray(mask, dtype=bool))
        return found


def build_dataset_masks(argument: str = "", **options: object) -> DatasetMasks:
    """The dataset's own masks (no argument, no options)."""
    return DatasetMasks()
