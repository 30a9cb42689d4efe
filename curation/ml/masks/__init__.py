"""Foreground-mask providers created by name: ``create_mask_provider("estimated")``, ``"dataset"``,
``"clipseg:CIDAS/clipseg-rd64-refined"``. A family's module (OpenCV; CLIPSeg: torch and transformers) is
imported when a provider of it is first built."""

from curation.ml.mask_registry import registered_mask_builders
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
