"""The mask-provider contract and ``create_mask_provider(name)``.

A provider takes RGB images (uint8 H×W×3, any sizes) and returns one boolean H×W foreground mask per
image, or None where it has none (the dataset provider for an image the dataset has no mask for).
``class_names`` are each image's label (prompts for open-vocabulary providers; others ignore them);
``dataset_masks`` are the masks the dataset brings (only the dataset provider reads them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from curation.ml.mask_registry import (
    MASK_PROVIDERS,
    MaskProviderSpec,
    mask_provider_name_check,
    register_mask_provider,
    registered_mask_families,
)

__all__ = [
    "MaskProvider",
    "MaskProviderSpec",
    "MasksUnavailable",
    "create_mask_provider",
    "register_mask_provider",
    "registered_mask_families",
]


class MasksUnavailable(RuntimeError):
    """A provider's weights are missing and cannot be fetched (offline): the message says how to get them."""


class MaskProvider(ABC):
    spec: MaskProviderSpec

    @abstractmethod
    def masks(
        self,
        images: Sequence[np.ndarray],
        *,
        class_names: Sequence[str] | None = None,
        dataset_masks: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray | None]:
        """One boolean mask of each image's own height and width, or None where the provider has none."""


def create_mask_provider(name: str, **options: Any) -> MaskProvider:
    """Build the provider ``family`` or ``family:argument`` (e.g. ``clipseg:CIDAS/clipseg-rd64-refined``).

    options: passed to the family's builder (e.g. ``device`` and ``threshold`` for clipseg).
    Raises ValueError for an unknown name, MasksUnavailable when weights cannot be had.
    """
    family, _, argument = mask_provider_name_check(name).partition(":")
    return MASK_PROVIDERS.create(family, argument, **options)
