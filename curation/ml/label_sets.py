"""ReaL accuracy and class-averaged multi-label accuracy on label sets (docs/METHODS.md §4), vectorised.

- ReaL ("Are we done with ImageNet?", Beyer et al. 2020): per image a set of valid labels; an empty
  set excludes the image. Accuracy = mean over the other images of [any of the top-k ∈ set].
  Image-averaged.
- Multi-label accuracy ("When does dough become a bagel?", Vasudevan et al. 2022): an image is
  correct when its top-1 is in correct ∪ unclear; problematic images (explicitly, or with an empty
  correct ∪ unclear) are skipped; averaged per class (the image's primary class), then over classes.

Labels are class indices; sets are given as boolean membership matrices (images × classes), so a
million images cost a few array passes. `label_set_matrix` builds one from Python sets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def label_set_matrix(label_sets: Sequence[set[int]], n_classes: int) -> np.ndarray:
    """Boolean (N × n_classes) membership matrix of the sets."""
    matrix = np.zeros((len(label_sets), n_classes), dtype=bool)
    rows = np.repeat(np.arange(len(label_sets)), [len(s) for s in label_sets])
    cols = np.fromiter((c for s in label_sets for c in s), dtype=np.int64, count=int(rows.size))
    matrix[rows, cols] = True
    return matrix


def real_accuracy(top_k: np.ndarray, valid: np.ndarray) -> tuple[float, int]:
    """ReaL accuracy and the number of images averaged.

    top_k: (N × k) predicted class indices, best first (k = 1 for top-1 ReaL).
    valid: (N × C) membership of each image's valid labels; an all-false row excludes the image.
    """
    top_k = np.asarray(top_k, dtype=np.int64).reshape(len(valid), -1)
    kept = valid.any(axis=1)
    hits = np.asarray(np.take_along_axis(valid, top_k, axis=1).any(axis=1), dtype=bool)
    count = int(kept.sum())
    return (float(hits[kept].mean()) if count else float("nan")), count


def multilabel_accuracy(
    top1: np.ndarray,
    correct: np.ndarray,
    unclear: np.ndarray,
    primary: np.ndarray,
    problematic: np.ndarray | None = None,
) -> tuple[float, dict[int, float]]:
    """Class-averaged multi-label accuracy and the accuracy of each class present.

    top1: (N,) predicted class; correct, unclear: (N × C) memberships; primary: (N,) the class each
    image is averaged under; problematic: (N,) images to skip (also skipped: empty correct ∪ unclear).
    """
    accepted = correct | unclear
    kept = accepted.any(axis=1)
    if problematic is not None:
        kept &= ~np.asarray(problematic, dtype=bool)
    hits = accepted[np.arange(len(top1)), np.asarray(top1, dtype=np.int64)]
    owners = np.asarray(primary, dtype=np.int64)[kept]
    if owners.size == 0:
        return float("nan"), {}
    n_classes = int(owners.max()) + 1
    totals = np.bincount(owners, minlength=n_classes)
    correct_counts = np.bincount(owners, weights=hits[kept].astype(np.float64), minlength=n_classes)
    per_class = {int(c): float(correct_counts[c] / totals[c]) for c in np.flatnonzero(totals)}
    return float(np.mean(list(per_class.values()))), per_class
