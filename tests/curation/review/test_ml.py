"""The review app's array code against known answers and slow obvious references."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from curation.ml.label_sets import label_set_matrix, multilabel_accuracy, real_accuracy
from curation.review.ml.aggregation import dawid_skene, majority_response
from curation.review.ml.agreement import cohen_kappa, fleiss_kappa
from curation.review.ml.proposals import (
    ProbeConfig,
    label_issues_multilabel,
    label_issues_single,
    mixed_cluster_proposals,
    out_of_fold_multilabel_probabilities,
    out_of_fold_probabilities,
    split_label_issues,
    top_k_above,
    zero_shot_probabilities,
)
from robustness.ml import metrics as reference_metrics


def test_majority_needs_more_than_half_and_the_quorum():
    assert majority_response(np.array([2, 0, 1])) == 0
    assert majority_response(np.array([1, 0, 1])) is None
    assert majority_response(np.array([0, 0, 1]), quorum=2) is None
    assert majority_response(np.array([0, 0, 2]), quorum=2) == 2
    assert majority_response(np.array([0, 0, 0])) is None


def synthetic_annotations(seed: int = 0):
    """600 tasks with truths from 3 categories, 5 annotators of known confusion, 3 answers per task."""
    rng = np.random.default_rng(seed)
    n_tasks, classes = 600, 3
    priors = np.array([0.5, 0.2, 0.3])
    good = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.05, 0.9]])
    sloppy = np.array([[0.6, 0.2, 0.2], [0.3, 0.4, 0.3], [0.2, 0.2, 0.6]])
    flipped = np.array([[0.1, 0.1, 0.8], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1]])  # swaps yes and no
    confusions = np.stack([good, good, sloppy, sloppy, flipped])
    truths = rng.choice(classes, size=n_tasks, p=priors)
    tasks, annotators, responses = [], [], []
    for task in range(n_tasks):
        for annotator in rng.choice(5, size=3, replace=False):
            tasks.append(task)
            annotators.append(annotator)
            responses.append(rng.choice(classes, p=confusions[annotator, truths[task]]))
    return np.array(tasks), np.array(annotators), np.array(responses), truths, confusions, priors


def test_dawid_skene_recovers_known_annotator_confusions_and_beats_majority():
    tasks, annotators, responses, truths, _, _ = synthetic_annotations()
    empirical = np.zeros((5, 3, 3))
    np.add.at(empirical, (annotators, truths[tasks], responses), 1)
    empirical /= empirical.sum(axis=2, keepdims=True)

    result = dawid_skene(tasks, annotators, responses, n_tasks=600, n_annotators=5, n_classes=3)

    assert result.converged
    assert np.abs(result.confusions - empirical).max() < 0.1
    assert np.abs(result.priors - np.bincount(truths) / 600).max() < 0.05
    assert result.confusions[4, 0, 2] > 0.6 and result.confusions[4, 2, 0] > 0.6  # the flipping annotator
    counts = np.zeros((600, 3))
    np.add.at(counts, (tasks, responses), 1)
    majority_accuracy = np.mean([majority_response(row) == t for row, t in zip(counts, truths, strict=True)])
    ds_accuracy = float(np.mean(result.truths == truths))
    assert ds_accuracy > 0.85
    assert ds_accuracy > majority_accuracy + 0.1


def test_dawid_skene_leaves_unseen_tasks_at_the_prior():
    result = dawid_skene(np.array([0, 0]), np.array([0, 1]), np.array([1, 1]), n_tasks=2, n_annotators=2, n_classes=2)

    assert result.truths[0] == 1
    assert np.allclose(result.posteriors[1], result.priors)


def test_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(1)
    first = rng.integers(0, 3, 200)
    second = np.where(rng.random(200) < 0.7, first, rng.integers(0, 3, 200))

    assert cohen_kappa(first, second, n_categories=3) == pytest.approx(cohen_kappa_score(first, second))
    assert cohen_kappa([1, 1], [1, 1], n_categories=3) is None
    assert cohen_kappa([], [], n_categories=3) is None


def test_fleiss_kappa_of_the_textbook_example():
    counts = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )

    assert fleiss_kappa(counts) == pytest.approx(0.2099, abs=1e-4)
    assert fleiss_kappa(np.array([[1, 0, 0]])) is None


def loop_real(top_k, sets):
    hits = [any(p in s for p in row) for row, s in zip(top_k.tolist(), sets, strict=True) if s]
    return (sum(hits) / len(hits) if hits else float("nan")), len(hits)


def loop_multilabel(top1, correct, unclear, primary):
    per_class: dict[int, list[bool]] = {}
    for p, c, u, owner in zip(top1.tolist(), correct, unclear, primary.tolist(), strict=True):
        if c | u:
            per_class.setdefault(owner, []).append(p in c | u)
    accuracies = {k: sum(v) / len(v) for k, v in per_class.items()}
    return sum(accuracies.values()) / len(accuracies), accuracies


def random_sets(rng, n, classes):
    return [set(rng.choice(classes, size=rng.integers(0, 3), replace=False).tolist()) for _ in range(n)]


def test_real_accuracy_matches_a_loop_and_the_evaluation_reference():
    rng = np.random.default_rng(2)
    scores = rng.random((300, 6))
    sets = random_sets(rng, 300, 6)
    valid = label_set_matrix(sets, 6)
    for k in (1, 3):
        top_k = np.argsort(-scores, axis=1, kind="stable")[:, :k]

        accuracy, count = real_accuracy(top_k, valid)

        assert (accuracy, count) == pytest.approx(loop_real(top_k, sets))
        assert (accuracy, count) == pytest.approx(reference_metrics.real_accuracy(scores, sets, k=k))


def test_real_accuracy_excludes_empty_sets():
    valid = label_set_matrix([{0}, set(), {1, 2}], 3)

    assert real_accuracy(np.array([0, 1, 1]), valid) == (1.0, 2)
    assert np.isnan(real_accuracy(np.array([0]), label_set_matrix([set()], 3))[0])


def test_multilabel_accuracy_matches_a_loop_and_counts_unclear_as_correct():
    rng = np.random.default_rng(3)
    n, classes = 400, 5
    correct, unclear = random_sets(rng, n, classes), random_sets(rng, n, classes)
    top1, primary = rng.integers(0, classes, n), rng.integers(0, classes, n)

    mean, per_class = multilabel_accuracy(
        top1, label_set_matrix(correct, classes), label_set_matrix(unclear, classes), primary
    )

    expected_mean, expected = loop_multilabel(top1, correct, unclear, primary)
    assert mean == pytest.approx(expected_mean)
    assert per_class == pytest.approx(expected)


def test_multilabel_accuracy_skips_problematic_images():
    correct = label_set_matrix([{0}, {1}, {1}], 2)
    unclear = label_set_matrix([set(), set(), set()], 2)

    mean, per_class = multilabel_accuracy(
        np.array([0, 0, 1]), correct, unclear, np.array([0, 1, 1]), problematic=np.array([False, True, False])
    )

    assert (mean, per_class) == (1.0, {0: 1.0, 1: 1.0})


def noisy_clusters(n_per_class=60, classes=3, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, 8)) * 3
    truth = np.repeat(np.arange(classes), n_per_class)
    features = centres[truth] + rng.standard_normal((truth.size, 8))
    given = truth.copy()
    flipped = rng.choice(truth.size, size=int(noise * truth.size), replace=False)
    given[flipped] = (truth[flipped] + 1) % classes
    return features, truth, given, flipped


def test_confident_learning_finds_flipped_labels_on_out_of_fold_probabilities():
    features, truth, given, flipped = noisy_clusters()

    probabilities, folds = out_of_fold_probabilities(features, given, 3, ProbeConfig(folds=5))
    issues = label_issues_single(given, probabilities)

    assert folds == 5
    found = set(np.flatnonzero(issues.is_issue).tolist())
    assert len(found & set(flipped.tolist())) >= 0.9 * len(flipped)
    assert len(found - set(flipped.tolist())) <= 3
    assert np.argmax(probabilities[flipped], axis=1).tolist() == truth[flipped].tolist()
    assert issues.issue_score[flipped].min() > np.median(issues.issue_score)


def test_out_of_fold_probabilities_use_fewer_folds_for_small_classes():
    features, _, given, _ = noisy_clusters(n_per_class=10, noise=0.0)
    keep = np.r_[np.arange(20), [20, 21, 22]]  # class 2 has 3 members

    probabilities, folds = out_of_fold_probabilities(features[keep], given[keep], 3, ProbeConfig(folds=5))

    assert folds == 3
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_multilabel_confident_learning_flags_missing_labels():
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((3, 8)) * 3
    truth = np.repeat(np.arange(3), 60)
    features = centres[truth] + rng.standard_normal((truth.size, 8))
    # 30 images of class 0 also show a class-2 object (it moves their features); 6 of them lost that label.
    second_object = rng.choice(np.flatnonzero(truth == 0), size=30, replace=False)
    features[second_object] += centres[2]
    forgotten = second_object[:6]
    label_lists = [[int(t)] for t in truth]
    for row in second_object[6:]:
        label_lists[row] = [0, 2]
    matrix = np.zeros((truth.size, 3), dtype=int)
    for row, labels in enumerate(label_lists):
        matrix[row, labels] = 1

    # The features are already on one scale; this test is about the multi-label filter, so the probe does not
    # standardise them (standardising, the default since c6097a1, finds 4 of these 6 at this seed, 5 without).
    config = ProbeConfig(folds=5, standardize=False)
    probabilities, _ = out_of_fold_multilabel_probabilities(features, matrix, config)
    issues = label_issues_multilabel(label_lists, probabilities)

    found = set(np.flatnonzero(issues.is_issue).tolist())
    assert len(found & set(forgotten.tolist())) >= 5
    assert len(found - set(forgotten.tolist())) <= 2
    assert probabilities[forgotten, 2].min() > 0.5


def test_zero_shot_probabilities_are_a_softmax_of_scaled_cosines():
    images = np.array([[1.0, 0.0], [0.6, 0.8]])
    texts = np.array([[1.0, 0.0], [0.0, 1.0]])

    probabilities = zero_shot_probabilities(images, texts, scale=10.0)

    cos = images @ texts.T * 10.0
    expected = np.exp(cos) / np.exp(cos).sum(axis=1, keepdims=True)
    assert probabilities == pytest.approx(expected, rel=1e-5)


def test_mixed_cluster_proposals_name_the_dominant_label_for_the_minority():
    clusters = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    labels = np.array([0, 0, 0, 1, 0, 1, 2, -1, 1, 1])

    proposals = mixed_cluster_proposals(clusters, labels, min_share=0.5)

    assert [(p.row, p.label, p.share) for p in proposals] == [(3, 0, 0.75)]


def test_top_k_above_keeps_the_top_k_over_the_threshold():
    probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])

    assert top_k_above(probabilities, k=2, threshold=0.25) == [[(0, 0.5), (1, 0.3)], [(2, 0.8)]]


def _shifted_splits(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, given labels, splits, wrong rows, foreign background): 3 classes whose 'background' dimensions
    go with the class in train (150) and are drawn at random in test (90); 3 wrong labels in each split."""
    rng = np.random.default_rng(seed)
    n_train, n_test, k = 150, 90, 3
    truth = np.concatenate([np.repeat(np.arange(k), n_train // k), np.repeat(np.arange(k), n_test // k)])
    splits = np.array(["train"] * n_train + ["test"] * n_test)
    background = truth.copy()
    test_rows = np.arange(n_train, n_train + n_test)
    background[test_rows] = (truth[test_rows] + rng.integers(0, k, n_test)) % k
    objects, scenes = rng.standard_normal((k, 8)) * 1.5, np.eye(k) * 6.0
    noise = rng.standard_normal((truth.size, 8)), rng.standard_normal((truth.size, k)) * 0.5
    features = np.hstack([objects[truth] + noise[0], scenes[background] + noise[1]])
    wrong = np.array([5, 60, 110, n_train + 4, n_train + 35, n_train + 70])
    given = truth.copy()
    given[wrong] = (truth[wrong] + 1) % k
    return features, given, splits, wrong, background != truth


def test_held_out_flags_that_a_shift_explains_are_reported_apart_from_label_issues():
    features, given, splits, wrong, foreign = _shifted_splits()

    found = split_label_issues(features, given, splits, 3)

    assert found.method == "per_split"
    issues, shifts = set(np.flatnonzero(found.is_issue).tolist()), np.flatnonzero(found.is_shift)
    assert {5, 60, 110} <= issues <= set(wrong.tolist())
    assert shifts.size >= 10
    assert foreign[shifts].all() and not np.isin(shifts, wrong).any()
    assert not (found.is_issue & found.is_shift).any()


def test_one_split_only_is_scored_by_one_out_of_fold_probe_without_shift_flags():
    features, given, _, _, _ = _shifted_splits()
    train = np.arange(150)

    found = split_label_issues(features[train], given[train], np.array(["train"] * 150), 3)

    assert found.method == "pooled"
    assert set(np.flatnonzero(found.is_issue).tolist()) == {5, 60, 110}
    assert not found.is_shift.any()
