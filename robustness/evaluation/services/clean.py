"""The clean suite: top-1/top-5, per-class accuracy, confusion, calibration, ReaL, multi-label and groups."""

from typing import Any

import numpy as np

from robustness.evaluation.services.dataset import EvaluationSet
from robustness.ml.metrics import (
    confusion_matrix,
    expected_calibration_error,
    group_accuracy,
    multilabel_class_accuracy,
    per_class_accuracy,
    real_accuracy,
    topk_accuracy,
)

GROUP_SOURCE_DEMO = "demo ground truth: class × own/other background"


def clean_results(evaluation_set: EvaluationSet, probabilities: np.ndarray, *, ece_bins: int) -> dict[str, Any]:
    """Everything the report shows about clean accuracy, as JSON-ready values."""
    targets, classes = evaluation_set.targets, evaluation_set.classes
    predictions = probabilities.argmax(axis=1)
    correct = predictions == targets
    calibration = expected_calibration_error(probabilities.max(axis=1), correct, n_bins=ece_bins)
    per_class = per_class_accuracy(predictions, targets, len(classes))
    return {
        "count": len(targets),
        "unlabeled_skipped": evaluation_set.unlabeled_skipped,
        "classes": classes,
        "top1": topk_accuracy(probabilities, targets, 1),
        "top5": topk_accuracy(probabilities, targets, 5),
        "top5_k": min(5, len(classes)),
        "per_class": dict(zip(classes, per_class, strict=True)),
        "class_counts": dict(zip(classes, np.bincount(targets, minlength=len(classes)).tolist(), strict=True)),
        "confusion": confusion_matrix(predictions, targets, len(classes)).tolist(),
        "ece": calibration.ece,
        "ece_bins": ece_bins,
        "reliability": [vars(b) for b in calibration.bins],
        "multi_label": _multi_label(evaluation_set, probabilities, predictions),
        "groups": _groups(evaluation_set, correct),
    }


def _multi_label(evaluation_set: EvaluationSet, probabilities: np.ndarray, predictions: np.ndarray) -> dict | None:
    """ReaL and class-averaged multi-label accuracy, only when some sample has more than one label."""
    sets = evaluation_set.label_sets
    if not any(len(labels) > 1 for labels in sets):
        return None
    real_top1, counted = real_accuracy(probabilities, sets, k=1)
    real_top5, _ = real_accuracy(probabilities, sets, k=5)
    mean, per_class = multilabel_class_accuracy(predictions, sets, evaluation_set.targets)
    return {
        "real_top1": real_top1,
        "real_top5": real_top5,
        "real_count": counted,
        "multi_label_samples": sum(len(labels) > 1 for labels in sets),
        "class_averaged": mean,
        "class_averaged_per_class": {evaluation_set.classes[c]: a for c, a in per_class.items()},
    }


def _groups(evaluation_set: EvaluationSet, correct: np.ndarray) -> dict | None:
    if evaluation_set.groups is None or all(g is None for g in evaluation_set.groups):
        return None
    result = group_accuracy(correct, evaluation_set.groups)
    own = np.array([o is True for o in evaluation_set.own_background or []], dtype=bool)
    other = np.array([o is False for o in evaluation_set.own_background or []], dtype=bool)
    return {
        "source": GROUP_SOURCE_DEMO,
        "groups": result.groups,
        "worst_group": result.worst_group,
        "worst_accuracy": result.worst_accuracy,
        "mean_accuracy": result.mean_accuracy,
        "gap": result.gap,
        "own_background": {"accuracy": _mean_or_none(correct[own]), "count": int(own.sum())},
        "other_background": {"accuracy": _mean_or_none(correct[other]), "count": int(other.sum())},
    }


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None
