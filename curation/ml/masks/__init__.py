"""Foreground-mask providers created by name: ``create_mask_provider("estimated")``, ``"dataset"``,
``"clipseg:CIDAS/clipseg-rd64-refined"``. Importing this package registers the families (OpenCV; CLIPSeg
imports torch and transformers only when built)."""

from curation.ml.mask_registry import registered_mask_builders
from curation.ml.masks import clipseg, dataset, estimated  # noqa: F401  (registers the families)
from curation.ml.masks.base import (
    MaskProvider,
    MaskProviderSpec,
    MasksUnavailable,
    create_mask_provider,
    register_mask_provider,
    registered_mask_families,
)

__all__ = [
    "MaskProvider",
    "MaskProviderSpec",
    "MasksUnavailable",
    "create_mask_provider",
    "register_mask_provider",
    "registered_mask_builders",
    "registered_mask_families",
]
