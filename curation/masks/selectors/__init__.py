"""Reads of stored mask sets (mask_sets.py): a version's sets, the set for a provider, a provider's quality."""

from curation.masks.selectors.mask_sets import (
    mask_set_for,
    mask_set_keys,
    mask_set_list,
    provider_quality,
)

__all__ = [
    "mask_set_for",
    "mask_set_keys",
    "mask_set_list",
    "provider_quality",
]
