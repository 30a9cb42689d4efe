"""Metrics against hand-computed values and slow loop references."""

import math

import numpy as np
import pytest

from robustness.ml.metrics import (
    confusion_matrix,
    corruption_error_table,
    expected_calibration_error,
    group_accuracy,
    multilabel_class_accuracy,
    per_class_accuracy,
    real_accuracy,
    topk_accuracy,
)

SCORES = np.array(
    [
        [0.7, 0.2, 0.1],  # top-1 0, top-2 {0, 1}
        [0.1, 0.3, 0.6],  # top-1 2, top-2 {2, 1}
        [0.2, 0.5, 0.3],  # top-1 1, top-2 {1, 2}
        [0.4, 0.1, 0.5],  # top-1 2, top-2 {2, 0}
    ]
)
TARGETS = np.array([0, 1, 1, 0])


def test_topk_accuracy_counts_targets_among_the_k_best():
    assert topk_accuracy(SCORES, TARGETS, 1) == 0.5
    assert topk_accuracy(SCORES, TARGETS, 2) == 1.0
    assert topk_accuracy(SCORES, TARGETS, 5) == 1.0  # k above the class count means every class
    assert math.isnan(topk_accuracy(SCORES[:0], TARGETS[:0], 1))


def test_confusion_matrix_rows_are_true_classes_and_per_class_accuracy_reads_its_diagonal():
    predictions = SCORES.argmax(axis=1)

    matrix = confusion_matrix(predictions, TARGETS, 3)

    assert matrix.tolist() == [[1, 0, 1], [0, 1, 1], [0, 0, 0]]
    assert per_class_accuracy(predictions, TARGETS, 3) == [0.5, 0.5, None]


def loop_ece(confidences, correct, n_bins):
    total, ece = len(confidences), 0.0
    for b in range(n_bins):
        lower, upper = b / n_bins, (b + 1) / n_bins
        members = [i for i, c in enumerate(confidences) if (lower < c <= upper) or (b == 0 and c == 0)]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            confidence = sum(confidences[i] for i in members) / len(members)
            ece += len(members) / total * abs(accuracy - confidence)
    return ece


def test_ece_matches_a_loop_reference_and_its_bins_form_the_reliability_diagram():
    rng = np.random.default_rng(0)
    confidences = np.concatenate([rng.uniform(0, 1, 200), [0.0, 1.0, 0.2, 0.4]])
    correct = rng.uniform(0, 1, len(confidences)) < confidences

    calibration = expected_calibration_error(confidences, correct, n_bins=10)

    assert calibration.ece == pytest.approx(loop_ece(confidences.tolist(), correct.tolist(), 10), abs=1e-12)
    assert sum(b.count for b in calibration.bins) == len(confidences)
    assert [b.lower for b in calibration.bins[:3]] == pytest.approx([0.0, 0.1, 0.2])


def test_ece_of_a_perfectly_calibrated_set_is_zero():
    calibration = expected_calibration_error(np.array([1.0, 1.0, 0.5, 0.5]), np.array([True, True, True, False]))

    assert calibration.ece == pytest.approx(0.0)


def test_real_accuracy_excludes_empty_sets_and_counts_any_label_of_the_set():
    label_sets = [{0}, {1, 2}, set(), {0}]

    assert real_accuracy(SCORES, label_sets, k=1) == (pytest.approx(2 / 3), 3)  # rows 0 and 1 hit, row 3 misses
    assert real_accuracy(SCORES, label_sets, k=2) == (1.0, 3)


def test_multilabel_accuracy_is_averaged_per_class_not_per_image():
    predictions = np.array([0, 0, 0, 1, 2])
    label_sets = [{0}, {0}, {0, 1}, {2}, {2, 1}]
    primary = np.array([0, 0, 0, 2, 2])

    mean, per_class = multilabel_class_accuracy(predictions, label_sets, primary)

    assert per_class == {0: 1.0, 2: 0.5}
    assert mean == 0.75  # image-averaged it would be 4/5


def test_group_accuracy_names_the_worst_group_and_the_gap_to_the_mean():
    correct = np.array([1, 1, 1, 0, 1, 0, 0, 1], dtype=bool)
    groups = ["a/own", "a/own", "a/other", "a/other", "b/own", "b/other", "b/other", None]

    result = group_accuracy(correct, groups)

    assert result.groups["a/other"] == {"accuracy": 0.5, "count": 2}
    assert result.worst_group == "b/other"
    assert result.worst_accuracy == 0.0
    assert result.mean_accuracy == 5 / 8
    assert result.gap == 5 / 8


def test_group_accuracy_skips_small_groups_as_worst_but_reports_them():
    result = group_accuracy(np.array([0, 1, 1, 0], dtype=bool), ["x", "y", "y", "y"], min_count=2)

    assert result.groups["x"]["count"] == 1
    assert result.worst_group == "y"


def test_mce_and_relative_mce_follow_the_imagenet_c_formulas():
    errors = {"gaussian_noise": {1: 0.3, 2: 0.5}, "fog": {1: 0.2, 2: 0.2}}
    base = {"gaussian_noise": {1: 0.6, 2: 0.8}, "fog": {1: 0.4, 2: 0.6}}

    table = corruption_error_table(errors, base, clean_error=0.1, baseline_clean_error=0.2)

    assert table["ce"]["gaussian_noise"] == pytest.approx(0.8 / 1.4)
    assert table["ce"]["fog"] == pytest.approx(0.4 / 1.0)
    assert table["mce"] == pytest.approx((0.8 / 1.4 + 0.4) / 2)
    assert table["relative_ce"]["gaussian_noise"] == pytest.approx((0.2 + 0.4) / (0.4 + 0.6))
    assert table["relative_ce"]["fog"] == pytest.approx((0.1 + 0.1) / (0.2 + 0.4))
    assert table["relative_mce"] == pytest.approx((0.6 + 1 / 3) / 2)
    assert table["missing"] == []


def test_mce_leaves_out_corruptions_the_baseline_lacks_or_cannot_normalise():
    errors = {"fog": {1: 0.2}, "snow": {1: 0.3}, "frost": {1: 0.4}}
    base = {"fog": {1: 0.5}, "frost": {1: 0.0}}

    table = corruption_error_table(errors, base, clean_error=0.1, baseline_clean_error=0.1)

    assert table["missing"] == ["snow"]
    assert table["ce"] == {"fog": pytest.approx(0.4), "frost": None}
    assert table["mce"] == pytest.approx(0.4)
    assert table["corruptions_averaged"] == 1
