# Over 300 lines: one algorithm (space, neighbours, clustering, ranking) whose parts share the settings and tests.
"""Failure-slice discovery: coherent groups of held-out samples on which a model does much worse than on their class.

In the spirit of Domino (Eyuboglu et al. ICLR 2022) and Spotlight (d'Eon et al. 2022): slices are found
in an embedding space without masks or captions, where errors that share a cause lie close together.
Choices made here:
- Samples are clustered within their true class, so a slice's accuracy is compared with its own class.
- Each sample's unit embedding can be joined with the model's probability for the sample's true class
  (times `true_class_weight`; it is exp(-loss), so only where losses are given) and with its predicted
  class (one-hot times `prediction_weight`) before clustering, then the row is re-normalised. Like
  Domino's mixture over (embedding, label, prediction score), in its one-vs-rest form within a class:
  samples the model is sure are something else fall apart from those it hesitates on or gets right,
  and a strong weight lets the embedding split only the confident errors among themselves. A context
  owned by another class gives exactly such errors, spread over several predicted classes, which the
  one-hot prediction would keep apart. Both weights at 0 cluster embeddings alone. Defaults: true_class_weight 0,
  prediction_weight 0, context_k 20, context_weight 4, min_size 3 (chosen on tuning probes, docs/METHODS.md §13).
- Foreign context (third round, docs/METHODS.md §13): for each held-out sample, the largest share of its k nearest
  TRAINING samples (cosine, in the clustered space) that hold one class other than its own. A held-out image on a
  background that class d owns in training sits among d's training images, whatever the model predicts for it,
  so the score marks "looks like another class's training data", the signature of a spurious context, from a
  labelled training split alone (no masks, no captions). It is joined as a column (times `context_weight`) and,
  within each tier of the ranking, slices with the higher mean context come first.
- Spherical k-means (FAISS, k-means++ seeding, trained on at most 8,192 rows) per class with
  k = clamp(n_class // min_size, 2, max_slices_per_class);
  clusters smaller than `min_size` are not ranked (they are counted).
- Ranking: significant slices first (the upper end of the slice accuracy's Wilson 95% interval lies
  below the class accuracy), by the conservative gap (class accuracy minus that upper end), so a
  small slice with few errors cannot outrank a large, clearly worse one. Where a class is failed
  almost everywhere no slice can be significant; those slices (at or below their class's accuracy)
  follow, by their mean loss on the true class when losses are given, as Spotlight ranks regions:
  confident errors that share a cause outrank diffuse ones at the same accuracy. Slices above their
  class's accuracy come last. With a foreign context, each tier is ordered by the slices' mean context first.
  Remaining ties: the plain gap.
- A slice's gallery is its members nearest the centroid (its most typical images), in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curation.ml.clustering import l2_normalize
from robustness.ml.metrics import wilson_interval

MAX_TRAIN_ROWS = 8192  # k-means trains on a seeded sample of a bigger class; every row is assigned
CONTEXT_EXACT_PAIRS = 200_000_000  # held-out x training rows searched exactly for the foreign context; more: IVF


@dataclass(frozen=True)
class SliceSettings:
    """min_size: members a slice needs to be ranked; max_slices_per_class: k-means clusters per class at most;
    prediction_weight: weight of the predicted class (one-hot) next to the unit embedding; true_class_weight:
    weight of the model's probability for the true class next to it (used when losses are given; 0 by default);
    both 0: embedding only; niter / seed: k-means iterations and seed; gallery_size: typical members kept per slice;
    context_k: training neighbours the foreign context is read from (foreign_context; 0: none); context_weight:
    weight of the foreign context next to the unit embedding (used when a context is given)."""

    min_size: int = 3
    max_slices_per_class: int = 8
    prediction_weight: float = 0.0
    true_class_weight: float = 0.0
    niter: int = 20
    seed: int = 0
    gallery_size: int = 8
    context_k: int = 20
    context_weight: float = 4.0


@dataclass(frozen=True, eq=False)
class Slice:
    """One ranked slice. `members` are positions into the inputs, nearest the centroid first."""

    class_index: int
    members: np.ndarray
    accuracy: float
    ci_low: float
    ci_high: float
    class_accuracy: float
    predictions: dict[int, int]  # predicted class -> members predicted so
    mean_loss: float | None = None  # mean cross-entropy on the true class, when losses were given
    mean_context: float | None = None  # mean foreign context (foreign_context), when a context was given

    @property
    def size(self) -> int:
        return int(self.members.size)

    @property
    def gap(self) -> float:
        return self.class_accuracy - self.accuracy

    @property
    def conservative_gap(self) -> float:
        return self.class_accuracy - self.ci_high

    @property
    def significant(self) -> bool:
        return self.ci_high < self.class_accuracy

    def rank_key(self) -> tuple:
        """Sort key, worst first (see the module comment)."""
        context = -(self.mean_context or 0.0)  # 0 for every slice when no context was given
        if self.significant:
            return (0, context, -self.conservative_gap, -(self.mean_loss or 0.0), -self.gap)
        tier = 1 if self.gap >= 0 else 2
        return (tier, context, -(self.mean_loss if self.mean_loss is not None else self.conservative_gap), -self.gap)


@dataclass(frozen=True, eq=False)
class SliceDiscovery:
    slices: list[Slice]  # ranked, worst first
    class_accuracy: dict[int, float]
    class_counts: dict[int, int]
    too_small: int  # clusters under min_size, not ranked
    settings: SliceSettings = field(default_factory=SliceSettings)

    def worst_per_class(self) -> dict[int, Slice]:
        worst: dict[int, Slice] = {}
        for found in self.slices:
            worst.setdefault(found.class_index, found)
        return worst


def clusters_per_class(count: int, settings: SliceSettings) -> int:
    """k for a class of `count` samples: count // min_size, at least 2 and at most max_slices_per_class."""
    return max(2, min(settings.max_slices_per_class, count // settings.min_size))


def slice_space(
    embeddings: np.ndarray,
    predictions: np.ndarray,
    num_classes: int,
    weight: float,
    true_class_probability: np.ndarray | None = None,
    true_class_weight: float = 0.0,
    context: np.ndarray | None = None,
    context_weight: float = 0.0,
) -> np.ndarray:
    """Unit rows of [unit embedding, weight * one-hot prediction, true_class_weight * p(true class),
    context_weight * foreign context] (float32, C-contiguous); a part whose weight is 0 (or without its values) is
    left out."""
    unit = l2_normalize(embeddings)
    with_true = true_class_probability is not None and true_class_weight > 0
    with_context = context is not None and context_weight > 0
    if weight <= 0 and not with_true and not with_context:
        return unit
    extra = (num_classes if weight > 0 else 0) + int(with_true) + int(with_context)
    joined = np.zeros((unit.shape[0], unit.shape[1] + extra), dtype=np.float32)
    joined[:, : unit.shape[1]] = unit
    if weight > 0:
        joined[np.arange(unit.shape[0]), unit.shape[1] + predictions] = weight
    if with_true:
        joined[:, unit.shape[1] + (num_classes if weight > 0 else 0)] = true_class_weight * np.asarray(
            true_class_probability, dtype=np.float32
        )
    if with_context:
        joined[:, -1] = context_weight * np.asarray(context, dtype=np.float32)
    return l2_normalize(joined)


def _neighbours(queries: np.ndarray, base: np.ndarray, k: int, seed: int) -> np.ndarray:
    """(n, k) rows of `base` nearest each query by inner product (-1 where fewer exist): exact up to
    CONTEXT_EXACT_PAIRS query x base pairs, else FAISS's inverted file (IVF, 4 sqrt(rows) lists, 16 probed)."""
    import faiss  # noqa: PLC0415 - faiss: loaded on first use, not at start-up

    k = min(k, base.shape[0])
    quantizer = faiss.IndexFlatIP(base.shape[1])
    index: Any = quantizer
    if queries.shape[0] * base.shape[0] > CONTEXT_EXACT_PAIRS:
        lists = int(min(4 * np.sqrt(base.shape[0]), base.shape[0] // 39))
        index = faiss.IndexIVFFlat(quantizer, base.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = base if base.shape[0] <= 256 * lists else base[rng.choice(base.shape[0], 256 * lists, False)]
        index.cp.seed = seed + 1234
        index.train(np.ascontiguousarray(sample))
        index.nprobe = 16
    index.add(base)
    return index.search(queries, k)[1]


def foreign_context(
    held_out: np.ndarray,
    targets: np.ndarray,
    train: np.ndarray,
    train_targets: np.ndarray,
    *,
    num_classes: int,
    k: int = 10,
    held_out_ids: np.ndarray | None = None,
    train_ids: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Each held-out sample's foreign context: the largest share of its k nearest training samples (cosine on the
    given features) that hold one class other than its own. 0: its neighbours are of its class (or of many); 1: all
    of one other class, i.e. it looks like that class's training data, the signature of a context (a background)
    another class owns in training. With ids, a sample is never its own neighbour (a split searched with its
    training data). A sample without neighbours gets 0."""
    targets, train_targets = np.asarray(targets, dtype=np.int64), np.asarray(train_targets, dtype=np.int64)
    if held_out.shape[0] == 0 or train.shape[0] == 0 or k <= 0:
        return np.zeros(held_out.shape[0])
    exclude = held_out_ids is not None and train_ids is not None
    rows = _neighbours(l2_normalize(held_out), l2_normalize(train), k + int(exclude), seed)
    valid = rows >= 0
    if exclude:
        valid &= np.asarray(train_ids)[np.maximum(rows, 0)] != np.asarray(held_out_ids)[:, None]
        valid &= np.cumsum(valid, axis=1) <= k  # the first k others
    labels = np.where(valid, train_targets[np.maximum(rows, 0)], num_classes)  # num_classes: no neighbour
    counts = np.zeros((targets.size, num_classes + 1))
    np.add.at(counts, (np.repeat(np.arange(targets.size), labels.shape[1]), labels.ravel()), 1.0)
    counts[np.arange(targets.size), targets] = 0.0
    return counts[:, :num_classes].max(axis=1) / np.maximum(valid.sum(axis=1), 1)


def kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007) on unit rows: a small far group gets its own centroid,
    which FAISS's random seeding often misses."""
    centroids = [points[rng.integers(points.shape[0])]]
    distance = np.maximum(2.0 - 2.0 * points @ centroids[0], 0.0)
    for _ in range(1, k):
        total = float(distance.sum())
        chosen = rng.choice(points.shape[0], p=distance / total) if total > 0 else rng.integers(points.shape[0])
        centroids.append(points[chosen])
        distance = np.minimum(distance, np.maximum(2.0 - 2.0 * points @ points[chosen], 0.0))
    return np.ascontiguousarray(np.stack(centroids), dtype=np.float32)


def _cluster(points: np.ndarray, k: int, settings: SliceSettings) -> tuple[np.ndarray, np.ndarray]:
    """Labels and cosine similarity to the centroid of each row (spherical k-means, k-means++ seeding)."""
    import faiss  # noqa: PLC0415 - faiss: loaded on first use, not at start-up

    if k <= 1 or points.shape[0] <= k:
        centroid = points.mean(axis=0, keepdims=True)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        return np.zeros(points.shape[0], dtype=np.int64), (points @ centroid.T)[:, 0]
    rng = np.random.default_rng([settings.seed, points.shape[0]])
    train = points if points.shape[0] <= MAX_TRAIN_ROWS else points[rng.choice(points.shape[0], MAX_TRAIN_ROWS, False)]
    kmeans = faiss.Kmeans(points.shape[1], k, niter=settings.niter, seed=settings.seed + 1234, spherical=True,
                          max_points_per_centroid=MAX_TRAIN_ROWS, min_points_per_centroid=1, verbose=False)  # fmt: skip
    kmeans.train(np.ascontiguousarray(train), init_centroids=kmeans_plus_plus(train, k, rng))
    centroids = l2_normalize(np.asarray(kmeans.centroids))
    index = faiss.IndexFlatIP(points.shape[1])
    index.add(centroids)
    similarity, labels = index.search(points, 1)
    return labels[:, 0].astype(np.int64), similarity[:, 0]


def _class_slices(
    points: np.ndarray, rows: np.ndarray, correct: np.ndarray, predictions: np.ndarray, losses: np.ndarray | None,
    class_index: int,
    settings: SliceSettings,
    context: np.ndarray | None = None,
) -> tuple[list[Slice], int, float]:  # fmt: skip
    class_accuracy = float(correct[rows].mean())
    labels, similarity = _cluster(np.ascontiguousarray(points[rows]), clusters_per_class(rows.size, settings), settings)
    found, too_small = [], 0
    for label in np.unique(labels):
        local = np.flatnonzero(labels == label)
        if local.size < settings.min_size:
            too_small += 1
            continue
        local = local[np.argsort(-similarity[local], kind="stable")]
        members = rows[local]
        hits = int(correct[members].sum())
        low, high = wilson_interval(hits, members.size)
        predicted, counts = np.unique(predictions[members], return_counts=True)
        by_prediction = {int(p): int(c) for p, c in zip(predicted, counts, strict=True)}
        found.append(
            Slice(
                class_index=class_index, members=members, accuracy=hits / members.size, ci_low=low, ci_high=high,
                class_accuracy=class_accuracy, predictions=by_prediction,
                mean_loss=None if losses is None else float(losses[members].mean()),
                mean_context=None if context is None else float(context[members].mean()),
            )
        )  # fmt: skip
    return found, too_small, class_accuracy


def slices_discover(
    embeddings: np.ndarray,
    targets: np.ndarray,
    predictions: np.ndarray,
    *,
    num_classes: int,
    settings: SliceSettings | None = None,
    losses: np.ndarray | None = None,
    context: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SliceDiscovery:
    """Cluster each class's samples and rank the clusters by how much worse than their class the model does.

    Args:
        embeddings: (n, d) features of the held-out samples (the model's penultimate layer or an encoder's).
        targets: (n,) true class indices; predictions: (n,) predicted class indices.
        num_classes: the model's number of outputs.
        settings: SliceSettings() by default.
        losses: (n,) optional loss of each sample on its true class (-log p_true); it orders the slices that are
            not significantly below their class, and exp(-loss) is the probability settings.true_class_weight joins.
        context: (n,) optional foreign context of each sample (foreign_context); joined at settings.context_weight,
            and within each tier of the ranking the slices with the higher mean context come first.
        progress: called with (classes done, classes) after each class.
    """
    settings = settings or SliceSettings()
    targets, predictions = np.asarray(targets, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    if losses is not None:
        losses = np.asarray(losses, dtype=np.float64)
    if (
        embeddings.shape[0] != targets.size
        or targets.size != predictions.size
        or (losses is not None and losses.size != targets.size)
        or (context is not None and np.asarray(context).size != targets.size)
    ):
        raise ValueError("embeddings, targets and predictions must have one row per sample")
    true_class = None if losses is None else np.exp(-losses)
    if context is not None:
        context = np.asarray(context, dtype=np.float64)
    points = slice_space(
        embeddings, predictions, num_classes, settings.prediction_weight, true_class, settings.true_class_weight,
        context, settings.context_weight,
    )  # fmt: skip
    correct = targets == predictions
    present = np.unique(targets)
    slices: list[Slice] = []
    accuracy: dict[int, float] = {}
    counts: dict[int, int] = {}
    too_small = 0
    for done, class_index in enumerate(present, start=1):
        rows = np.flatnonzero(targets == class_index)
        counts[int(class_index)] = int(rows.size)
        found, small, accuracy[int(class_index)] = _class_slices(
            points, rows, correct, predictions, losses, int(class_index), settings, context
        )
        slices += found
        too_small += small
        if progress is not None:
            progress(done, present.size)
    slices.sort(key=lambda s: (*s.rank_key(), s.class_index, int(s.members[0])))
    return SliceDiscovery(slices, accuracy, counts, too_small, settings)


def slice_accuracy(members: np.ndarray, correct: np.ndarray) -> dict[str, float | int]:
    """Accuracy of a slice under any model's correctness vector, with its Wilson interval (the compare view)."""
    hits = int(correct[members].sum())
    low, high = wilson_interval(hits, int(members.size))
    return {"size": int(members.size), "correct": hits, "accuracy": hits / members.size if members.size else 0.0,
            "ci_low": low, "ci_high": high}  # fmt: skip
