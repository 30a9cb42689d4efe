"""Mask-set services (mask_sets.py): start an estimation, the estimate_masks job and its cleanup, the stored PNGs."""

from curation.masks.services.mask_sets import (
    MASKS_PREFIX,
    mask_key,
    mask_png_decode,
    mask_png_encode,
    mask_set_cleanup,
    mask_set_execute,
    mask_set_quality,
    mask_set_start,
)

__all__ = [
    "MASKS_PREFIX",
    "mask_key",
    "mask_png_decode",
    "mask_png_encode",
    "mask_set_cleanup",
    "mask_set_execute",
    "mask_set_quality",
    "mask_set_start",
]
