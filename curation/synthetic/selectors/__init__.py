"""Reads of synthetic batches and images (batches.py), for pages and API."""

from curation.synthetic.selectors.batches import (
    synthetic_batch_counts,
    synthetic_batch_get,
    synthetic_batch_list,
    synthetic_image_get,
    synthetic_images_of_batch,
    synthetic_review_next,
)

__all__ = [
    "synthetic_batch_counts",
    "synthetic_batch_get",
    "synthetic_batch_list",
    "synthetic_image_get",
    "synthetic_images_of_batch",
    "synthetic_review_next",
]
