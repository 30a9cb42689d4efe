"""Label-issue and label-suggestion models on arrays (docs/METHODS.md §4).

- Out-of-fold probabilities of a linear probe (scikit-learn LogisticRegression on the embeddings,
  each dimension standardised on the probe's training rows): each sample's probabilities come from a
  probe that never saw it (stratified k folds; the number of folds drops to the smallest class's
  size, at least 2). Multi-label: one binary probe per class
  (one-vs-rest), each on the same k folds; a class constant in a training fold predicts that constant.
- Confident learning (Northcutt et al. 2021) through cleanlab's `find_label_issues`, single-label
  and multi-label, on those probabilities; the issue score of a sample is 1 − its label quality
  (cleanlab's self-confidence: the probability of the given label).
- Held-out splits against a reference (training) split: a probe trained on the whole reference split
  scores the held-out samples and confident learning flags them; a flag counts as a label issue only
  when a probe trained out of fold on the held-out split alone flags the sample too and both probes
  name the same class. The rest are shift flags: the reference probe learned something the held-out
  split does not share (e.g. a background that goes with a class in train only).
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
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class ProbeConfig:
    folds: int = 5
    C: float = 1.0
    max_iter: int = 1000
    seed: int = 0
    standardize: bool = True  # zero mean, unit variance per dimension (fit on the training rows)


def _probe(config: ProbeConfig) -> Pipeline | LogisticRegression:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - scikit-learn loads SciPy: jobs only, not the web
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up

    linear = LogisticRegression(C=config.C, max_iter=config.max_iter)
    return make_pipeline(StandardScaler(), linear) if config.standardize else linear


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
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up

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
    from sklearn.model_selection import KFold  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up

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
    from cleanlab.filter import find_label_issues  # noqa: PLC0415 - cleanlab loads when proposals are made, not at start-up
    from cleanlab.rank import get_label_quality_scores  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up

    is_issue = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
    quality = get_label_quality_scores(labels, probabilities, method="self_confidence")
    return LabelIssues(np.asarray(is_issue, dtype=bool), 1.0 - np.asarray(quality))


def label_issues_multilabel(label_lists: list[list[int]], probabilities: np.ndarray) -> LabelIssues:
    """Confident learning on label sets (cleanlab's multi-label variant)."""
    from cleanlab.multilabel_classification import filter as multilabel_filter  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up
    from cleanlab.multilabel_classification import rank as multilabel_rank  # noqa: PLC0415 - scikit-learn/cleanlab loaded when proposals are made, not at start-up

    is_issue = multilabel_filter.find_label_issues(label_lists, probabilities, n_jobs=1)
    quality = multilabel_rank.get_label_quality_scores(label_lists, probabilities)
    return LabelIssues(np.asarray(is_issue, dtype=bool), 1.0 - np.asarray(quality))


@dataclass(frozen=True)
class HeldOutIssues:
    is_issue: np.ndarray  # bool (N,): a label issue (both probes flag it and name the same class)
    is_shift: np.ndarray  # bool (N,): flagged by the reference probe only, or the probes disagree
    issue_score: np.ndarray  # float (N,): 1 − the held-out probe's probability of the given label
    probabilities: np.ndarray  # (N × n_classes): the held-out split's own out-of-fold probabilities
    reference_probabilities: np.ndarray  # (N × n_classes): the reference probe's probabilities


def held_out_label_issues(
    reference_features: np.ndarray,
    reference_labels: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    config: ProbeConfig = ProbeConfig(),
) -> HeldOutIssues:
    """Label issues of a held-out split, apart from flags that come from a shift against the reference split.

    Samples whose class has fewer than two members in the held-out split cannot be scored out of fold
    there: their reference flags count as shift flags.
    """
    reference = probe_probabilities(reference_features, reference_labels, features, n_classes, config)
    flagged = label_issues_single(labels, reference).is_issue
    counts = np.bincount(labels, minlength=n_classes)
    scorable = counts[labels] >= 2
    within, within_flagged = reference.copy(), np.zeros(labels.size, dtype=bool)
    kept = np.flatnonzero(counts >= 2)
    if kept.size >= 2:
        compact = np.full(n_classes, -1)
        compact[kept] = np.arange(kept.size)
        compact_labels = compact[labels[scorable]]
        compact_probabilities, _ = out_of_fold_probabilities(features[scorable], compact_labels, kept.size, config)
        rows = np.flatnonzero(scorable)
        within[rows] = 0.0
        within[np.ix_(rows, kept)] = compact_probabilities
        within_flagged[rows] = label_issues_single(compact_labels, compact_probabilities).is_issue
    agree = np.argmax(within, axis=1) == np.argmax(reference, axis=1)
    is_issue = flagged & within_flagged & agree
    score = 1.0 - within[np.arange(labels.size), labels]
    return HeldOutIssues(is_issue, flagged & ~is_issue, score, within, reference)


@dataclass(frozen=True)
class SplitLabelIssues:
    """Per sample: probabilities, label-issue and shift flags, issue scores; and how they were found."""

    probabilities: np.ndarray  # (N × n_classes) out of fold (the held-out split's own probe for held-out rows)
    is_issue: np.ndarray
    is_shift: np.ndarray
    issue_score: np.ndarray
    folds: int
    method: str  # per_split (a reference split and held-out splits) or pooled (one out-of-fold probe)


def split_label_issues(
    features: np.ndarray,
    labels: np.ndarray,
    splits: np.ndarray,
    n_classes: int,
    config: ProbeConfig = ProbeConfig(),
    *,
    reference_split: str = "train",
) -> SplitLabelIssues:
    """Confident learning per split: out of fold over the reference split only, held-out splits scored by it.

    Falls back to one out-of-fold probe over every sample (method "pooled", no shift flags) when all samples
    are in the reference split or it lacks two members of some class.
    """
    reference = splits == reference_split
    if reference.all() or np.bincount(labels[reference], minlength=n_classes).min() < 2:
        probabilities, folds = out_of_fold_probabilities(features, labels, n_classes, config)
        issues = label_issues_single(labels, probabilities)
        no_shift = np.zeros(labels.size, dtype=bool)
        return SplitLabelIssues(probabilities, issues.is_issue, no_shift, issues.issue_score, folds, "pooled")
    probabilities = np.zeros((labels.size, n_classes))
    is_issue, is_shift = np.zeros(labels.size, dtype=bool), np.zeros(labels.size, dtype=bool)
    score = np.zeros(labels.size)
    probabilities[reference], folds = out_of_fold_probabilities(
        features[reference], labels[reference], n_classes, config
    )
    issues = label_issues_single(labels[reference], probabilities[reference])
    is_issue[reference], score[reference] = issues.is_issue, issues.issue_score
    for split in sorted(set(splits[~reference].tolist())):
        held = splits == split
        found = held_out_label_issues(
            features[reference], labels[reference], features[held], labels[held], n_classes, config
        )
        probabilities[held], score[held] = found.probabilities, found.issue_score
        is_issue[held], is_shift[held] = found.is_issue, found.is_shift
    return SplitLabelIssues(probabilities, is_issue, is_shift, score, folds, "per_split")


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
