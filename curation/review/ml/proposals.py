"""Label-issue and label-suggestion models on arrays (METHODS.md §4).

- Out-of-fold probabilities of a linear probe (scikit-learn LogisticRegression on the embeddings):
  each sample's probabilities come from a probe that never saw it (stratified k folds; the number
  of folds drops to the smallest class's size, at least 2). Multi-label: one binary probe per class
  (one-vs-rest), each on the same k folds; a class constant in a training fold predicts that constant.
- Confident learning (Northcutt et al. 2021) through cleanlab's `find_label_issues`, single-label
  and multi-label, on those probabilities; the issue score of a sample is 1 − its label quality
  (cleanlab's self-confidence: the probability of the given label).
- CLIP zero-shot: softmax over classes of the cosine between an image and each class prompt, times
  the model's logit scale (100 for CLIP).
- Mixed clusters: a member whose label differs from its cluster's dominant label, when that label
  holds at least `min_share` of the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class ProbeConfig:
    folds: int = 5
    C: float = 1.0
    max_iter: int = 1000
    seed: int = 0


def _probe(config: ProbeConfig) -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression  # scikit-learn loads SciPy: jobs only, not the web

    return LogisticRegression(C=config.C, max_iter=config.max_iter)


def effective_folds(labels: np.ndarray, folds: int) -> int:
    """The number of folds a stratified split of ``labels`` can have (≤ ``folds``, ≥ 2)."""
    smallest = int(np.bincount(labels).min(initial=folds)) if labels.size else 0
    return max(2, min(folds, smallest))


def out_of_fold_probabilities(
    features: np.ndarray, labels: np.ndarray, n_classes: int, config: ProbeConfig = ProbeConfig()
) -> tuple[np.ndarray, int]:
    """(N × n_classes) probabilities of each sample from a probe trained on the other folds, and the folds used.

    labels: class indices 0..n_classes-1, every class present at least twice.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = effective_folds(labels, config.folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    probabilities = np.zeros((labels.size, n_classes))
    for train, held_out in splitter.split(features, labels):
        probe = _probe(config).fit(features[train], labels[train])
        probabilities[np.ix_(held_out, probe.classes_)] = probe.predict_proba(features[held_out])
    return probabilities, folds


def out_of_fold_multilabel_probabilities(
    features: np.ndarray, label_matrix: np.ndarray, config: ProbeConfig = ProbeConfig()
) -> tuple[np.ndarray, int]:
    """(N × K) independent per-class probabilities (one-vs-rest probes), each out of fold, and the folds used."""
    from sklearn.model_selection import KFold

    folds = max(2, min(config.folds, label_matrix.shape[0]))
    splitter = KFold(n_splits=folds, shuffle=True, random_state=config.seed)
    probabilities = np.zeros(label_matrix.shape)
    for train, held_out in splitter.split(features):
        for k in range(label_matrix.shape[1]):
            target = label_matrix[train, k]
            if target.min() == target.max():
                probabilities[held_out, k] = float(target[0])
                continue
            probe = _probe(config).fit(features[train], target)
            probabilities[held_out, k] = probe.predict_proba(features[held_out])[:, 1]
    return probabilities, folds


def probe_probabilities(
    train_features: np.ndarray, train_labels: np.ndarray, features: np.ndarray, n_classes: int, config: ProbeConfig
) -> np.ndarray:
    """Probabilities for ``features`` (e.g. unlabeled samples) from one probe trained on all labelled samples."""
    probe = _probe(config).fit(train_features, train_labels)
    probabilities = np.zeros((features.shape[0], n_classes))
    probabilities[:, probe.classes_] = probe.predict_proba(features)
    return probabilities


@dataclass(frozen=True)
class LabelIssues:
    is_issue: np.ndarray  # bool (N,)
    issue_score: np.ndarray  # float (N,): 1 − label quality, higher = more doubtful


def label_issues_single(labels: np.ndarray, probabilities: np.ndarray) -> LabelIssues:
    """Confident learning on single labels (cleanlab, prune by noise rate)."""
    from cleanlab.filter import find_label_issues  # cleanlab loads when proposals are made, not at start-up
    from cleanlab.rank import get_label_quality_scores

    is_issue = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
    quality = get_label_quality_scores(labels, probabilities, method="self_confidence")
    return LabelIssues(np.asarray(is_issue, dtype=bool), 1.0 - np.asarray(quality))


def label_issues_multilabel(label_lists: list[list[int]], probabilities: np.ndarray) -> LabelIssues:
    """Confident learning on label sets (cleanlab's multi-label variant)."""
    from cleanlab.multilabel_classification import filter as multilabel_filter
    from cleanlab.multilabel_classification import rank as multilabel_rank

    is_issue = multilabel_filter.find_label_issues(label_lists, probabilities, n_jobs=1)
    quality = multilabel_rank.get_label_quality_scores(label_lists, probabilities)
    return LabelIssues(np.asarray(is_issue, dtype=bool), 1.0 - np.asarray(quality))


def zero_shot_probabilities(
    image_embeddings: np.ndarray, text_embeddings: np.ndarray, *, scale: float = 100.0
) -> np.ndarray:
    """Softmax over classes of ``scale`` × cosine(image, class prompt); both inputs are unit rows."""
    logits = scale * (np.asarray(image_embeddings, dtype=np.float32) @ np.asarray(text_embeddings, dtype=np.float32).T)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class MixedClusterProposal:
    row: int  # index into the inputs
    label: int  # the cluster's dominant label
    share: float  # the dominant label's share of the cluster


def mixed_cluster_proposals(
    clusters: np.ndarray, labels: np.ndarray, *, min_share: float = 0.5
) -> list[MixedClusterProposal]:
    """Members whose label (≥ 0; −1 = unlabeled) differs from a clearly dominant label of their cluster."""
    proposals: list[MixedClusterProposal] = []
    for cluster in np.unique(clusters):
        rows = np.flatnonzero(clusters == cluster)
        labelled = labels[rows][labels[rows] >= 0]
        if labelled.size == 0:
            continue
        counts = np.bincount(labelled)
        dominant = int(np.argmax(counts))
        share = float(counts[dominant]) / rows.size
        if share < min_share or share == 1.0:
            continue
        proposals.extend(MixedClusterProposal(int(r), dominant, share) for r in rows if labels[r] != dominant)
    return proposals


def top_k_above(probabilities: np.ndarray, *, k: int, threshold: float) -> list[list[tuple[int, float]]]:
    """Per row, the (class, probability) pairs among the top k whose probability reaches ``threshold``."""
    k = min(k, probabilities.shape[1])
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        [(int(c), float(probabilities[row, c])) for c in order[row] if probabilities[row, c] >= threshold]
        for row in range(probabilities.shape[0])
    ]
