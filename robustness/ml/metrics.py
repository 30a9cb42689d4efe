"""Classification and robustness metrics on arrays (docs/METHODS.md §4–5).

- Top-k accuracy, per-class accuracy and the confusion matrix (rows: true class, columns: predicted).
- Expected calibration error (Guo et al. 2017): 15 equal-width confidence bins over (0, 1], each
  bin weighted by its share of samples; the bins double as the reliability diagram.
- ReaL accuracy (Beyer et al. 2020): per image a set of valid labels, empty sets excluded,
  image-averaged; top-k counts when any of the top k is in the set.
- Multi-label accuracy of "When does dough become a bagel?" (Vasudevan et al. 2022): top-1 in the
  image's set of correct labels, averaged per class (the image's primary class) and then over classes.
- Group accuracies, the worst group and the gap (mean accuracy − worst-group accuracy); the Wilson 95%
  score interval of an accuracy (failure slices and sample groups).
- Corruption errors (ImageNet-C): CE and mCE against a baseline's errors, and relative CE/mCE
  that subtract each model's clean error first. mCE averages the 15 common corruptions only, as
  the benchmark defines it; the 4 held-out ones get their own mean (mce_held_out), never mixed in.
  A corruption whose baseline denominator is not positive has no CE (None) and is left out of the
  mean, which then says how many it averaged; severities that only one of the two runs has are
  left out of the sums and listed (severity_gaps), as are common corruptions the run lacks.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curation.ml.label_sets import label_set_matrix
from curation.ml.label_sets import multilabel_accuracy as review_multilabel_accuracy
from curation.ml.label_sets import real_accuracy as review_real_accuracy
from robustness.ml.corruptions import COMMON_CORRUPTIONS, HELD_OUT_CORRUPTIONS

ECE_BINS = 15
Z_95 = 1.959963984540054


def wilson_interval(successes: int, count: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of `successes` out of `count` ((0, 1) when count is 0)."""
    if count == 0:
        return 0.0, 1.0
    rate = successes / count
    denominator = 1 + z * z / count
    centre = (rate + z * z / (2 * count)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / count + z * z / (4 * count * count)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def topk_predictions(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores per row, best first (N×k); ties go to the lower index."""
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")
    return order[:, :k]


def topk_accuracy(scores: np.ndarray, targets: np.ndarray, k: int = 1) -> float:
    """Share of rows whose target is among the k highest scores (NaN for no rows)."""
    if len(targets) == 0:
        return float("nan")
    hits = (topk_predictions(scores, k) == np.asarray(targets)[:, None]).any(axis=1)
    return float(hits.mean())


def confusion_matrix(predictions: np.ndarray, targets: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts C×C: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(targets, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return matrix


def per_class_accuracy(predictions: np.ndarray, targets: np.ndarray, num_classes: int) -> list[float | None]:
    """Accuracy per true class; None for a class with no samples."""
    matrix = confusion_matrix(predictions, targets, num_classes)
    totals = matrix.sum(axis=1)
    return [float(matrix[c, c] / totals[c]) if totals[c] else None for c in range(num_classes)]


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    accuracy: float | None
    confidence: float | None


@dataclass(frozen=True)
class Calibration:
    ece: float
    bins: list[CalibrationBin] = field(default_factory=list)


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> Calibration:
    """ECE over `n_bins` equal-width bins (lower, upper]; a confidence of exactly 0 joins the first bin.

    Args:
        confidences: the top-1 probability per sample, in [0, 1].
        correct: whether the top-1 prediction was right, per sample.
        n_bins: number of bins (default 15).
    """
    confidences, correct = np.asarray(confidences, dtype=np.float64), np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, n_bins - 1)
    bins, ece, total = [], 0.0, max(len(confidences), 1)
    for b in range(n_bins):
        in_bin = index == b
        count = int(in_bin.sum())
        accuracy = float(correct[in_bin].mean()) if count else None
        confidence = float(confidences[in_bin].mean()) if count else None
        if count:
            ece += count / total * abs(accuracy - confidence)  # type: ignore[operator]
        bins.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), count, accuracy, confidence))
    return Calibration(ece=float(ece) if len(confidences) else float("nan"), bins=bins)


def _label_set_width(label_sets: Sequence[set[int]], *arrays: np.ndarray) -> int:
    largest = max((max(labels) for labels in label_sets if labels), default=-1)
    return 1 + max([largest, *(int(a.max()) if a.size else -1 for a in arrays)])


def real_accuracy(scores: np.ndarray, label_sets: Sequence[set[int]], k: int = 1) -> tuple[float, int]:
    """ReaL top-k accuracy and the number of images it averaged (images with an empty set are excluded).

    One implementation in Winnow: the vectorised `curation.ml.label_sets.real_accuracy` (also the review app's).
    """
    top = topk_predictions(scores, k)
    valid = label_set_matrix(label_sets, max(scores.shape[1], _label_set_width(label_sets, top)))
    return review_real_accuracy(top, valid)


def multilabel_class_accuracy(
    predictions: np.ndarray, label_sets: Sequence[set[int]], classes_of_images: np.ndarray
) -> tuple[float, dict[int, float]]:
    """Class-averaged multi-label accuracy: top-1 ∈ the image's set, averaged per class, then over classes.

    Args:
        predictions: top-1 class per image.
        label_sets: the correct labels per image; an empty set marks a problematic image (skipped).
        classes_of_images: the class each image is averaged under (its primary label).
    Returns (mean over classes, accuracy per class present), computed by the review app's
    `curation.ml.label_sets.multilabel_accuracy` (no "unclear" labels here).
    """
    predictions = np.asarray(predictions, dtype=np.int64)
    correct = label_set_matrix(label_sets, _label_set_width(label_sets, predictions))
    unclear = np.zeros_like(correct)
    return review_multilabel_accuracy(predictions, correct, unclear, np.asarray(classes_of_images, dtype=np.int64))


@dataclass(frozen=True)
class GroupAccuracy:
    """Accuracy per group, the worst group, and mean − worst (the worst-group gap)."""

    groups: dict[str, dict[str, float | int]]
    worst_group: str | None
    worst_accuracy: float | None
    mean_accuracy: float
    gap: float | None


def group_accuracy(correct: np.ndarray, groups: Sequence[str | None], min_count: int = 1) -> GroupAccuracy:
    """Accuracy per group label (samples whose group is None are left out).

    Args:
        correct: whether each prediction was right.
        groups: a group name per sample, or None.
        min_count: groups smaller than this are reported but cannot be the worst group.
    """
    by_group: dict[str, list[bool]] = {}
    for hit, group in zip(np.asarray(correct, dtype=bool).tolist(), groups, strict=True):
        if group is not None:
            by_group.setdefault(group, []).append(hit)
    table = {g: {"accuracy": float(np.mean(h)), "count": len(h)} for g, h in sorted(by_group.items())}
    eligible = {g: row for g, row in table.items() if row["count"] >= min_count}
    mean = float(np.mean(correct)) if len(correct) else float("nan")
    if not eligible:
        return GroupAccuracy(table, None, None, mean, None)
    worst = min(eligible, key=lambda g: (eligible[g]["accuracy"], g))
    worst_accuracy = float(eligible[worst]["accuracy"])
    return GroupAccuracy(table, worst, worst_accuracy, mean, mean - worst_accuracy)


def corruption_error_table(
    errors: Mapping[str, Mapping[Any, float]],
    baseline_errors: Mapping[str, Mapping[Any, float]],
    *,
    clean_error: float,
    baseline_clean_error: float,
) -> dict[str, Any]:
    """CE, relative CE, mCE and relative mCE (docs/METHODS.md §5).

    Args:
        errors: top-1 error per corruption per severity of the model.
        baseline_errors: the same for the baseline (only severities both have are summed; the others
            are listed in `severity_gaps`).
        clean_error, baseline_clean_error: the clean top-1 errors.
    Returns {"ce": {c: float|None}, "relative_ce": {...},
    "mce" / "relative_mce": means over the 15 common corruptions only (None when none is defined),
    "mce_held_out" / "relative_mce_held_out": the same over the 4 held-out ones, reported apart,
    "corruptions_averaged", "relative_corruptions_averaged", "held_out_averaged",
    "relative_held_out_averaged": how many each mean averaged,
    "missing": corruptions of the run the baseline lacks,
    "common_not_run": common corruptions the run lacks,
    "severity_gaps": {c: {"missing_in_run": [s], "missing_in_baseline": [s]}} for every corruption
    whose severities differ between the two}.
    """
    ce: dict[str, float | None] = {}
    relative: dict[str, float | None] = {}
    missing = []
    severity_gaps: dict[str, dict[str, list[Any]]] = {}
    for name, by_severity in errors.items():
        base = baseline_errors.get(name)
        if not base:
            missing.append(name)
            continue
        severities = sorted(set(by_severity) & set(base), key=str)
        if set(by_severity) != set(base):
            severity_gaps[name] = {
                "missing_in_run": sorted(set(base) - set(by_severity), key=str),
                "missing_in_baseline": sorted(set(by_severity) - set(base), key=str),
            }
        if not severities:
            continue
        model_sum = sum(by_severity[s] for s in severities)
        base_sum = sum(base[s] for s in severities)
        ce[name] = model_sum / base_sum if base_sum > 0 else None
        rel_model = sum(by_severity[s] - clean_error for s in severities)
        rel_base = sum(base[s] - baseline_clean_error for s in severities)
        relative[name] = rel_model / rel_base if rel_base > 0 else None
    common = {name: ce[name] for name in ce if name in COMMON_CORRUPTIONS}
    common_relative = {name: relative[name] for name in relative if name in COMMON_CORRUPTIONS}
    held_out = {name: ce[name] for name in ce if name in HELD_OUT_CORRUPTIONS}
    held_out_relative = {name: relative[name] for name in relative if name in HELD_OUT_CORRUPTIONS}
    return {
        "ce": ce,
        "relative_ce": relative,
        "mce": _mean_of_defined(common),
        "relative_mce": _mean_of_defined(common_relative),
        "mce_held_out": _mean_of_defined(held_out),
        "relative_mce_held_out": _mean_of_defined(held_out_relative),
        "corruptions_averaged": sum(v is not None for v in common.values()),
        "relative_corruptions_averaged": sum(v is not None for v in common_relative.values()),
        "held_out_averaged": sum(v is not None for v in held_out.values()),
        "relative_held_out_averaged": sum(v is not None for v in held_out_relative.values()),
        "missing": missing,
        "common_not_run": [name for name in COMMON_CORRUPTIONS if name not in errors],
        "severity_gaps": severity_gaps,
    }


def _mean_of_defined(values: Mapping[str, float | None]) -> float | None:
    defined = [v for v in values.values() if v is not None]
    return float(np.mean(defined)) if defined else None
