"""Running one pruning method of docs/METHODS.md §1-3 on a version's vectors (the compute half of a prune run).

See services/pruning.py for the choices made; this module maps PruneParams onto the ML core's configs.
The params come from `prune_params_validate`, which applied every default: nothing is defaulted here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from core.registry import Registry
from curation.ml.clustering import ClusterAssignment, KMeansConfig
from curation.ml.pruning import (
    DBPConfig,
    PrototypicalityConfig,
    PruneReason,
    PruneResult,
    RandomPruningConfig,
    SemDeDupConfig,
    density_based_pruning,
    prototypicality_pruning,
    random_pruning,
    semdedup,
    semdedup_rethreshold,
    semdedup_then_dbp,
)
from curation.pruning.blobs import arrays_load
from curation.pruning.models import ClusterRun, PruneMethod
from curation.pruning.services.params import PruneParams


def cluster_assignment_from_run(cluster_run: ClusterRun, sample_ids: np.ndarray) -> ClusterAssignment:
    """A stored cluster run as the ML core's ClusterAssignment over `sample_ids` (the same members)."""
    stored = arrays_load(cluster_run.assignment_key)
    if not np.array_equal(stored["sample_ids"], sample_ids):
        raise ValueError(f"cluster run {cluster_run.pk} does not cover exactly the version's samples")
    centroids = arrays_load(cluster_run.centroids_key)["centroids"]
    labels = stored["cluster"].astype(np.int64)
    sizes = np.bincount(labels, minlength=centroids.shape[0]).astype(np.int64)
    return ClusterAssignment(centroids, labels, stored["distance"], sizes, int(cluster_run.n_samples))


SCORING_PASS_EPS = SemDeDupConfig.eps  # the threshold of a pass whose eps is picked afterwards (_semdedup_config)
MIN_EPS = 1e-6  # the smallest eps searched: a sample with M > 1 - MIN_EPS (an exact copy) is always removed


def eps_for_keep_fraction(result: PruneResult, keep_fraction: float) -> float:
    """The largest eps in [1e-6, 1) that keeps at least round(keep_fraction x candidates) (ties keep more).

    When more than 1 - keep_fraction of the candidates have M > 1 - 1e-6 (exact copies), no eps
    reaches the target and the eps returned is 1e-6, which keeps fewer: `keep_target` says so.
    """
    candidate = result.reason != PruneReason.NOT_CANDIDATE
    scores = np.sort(result.score[candidate].astype(np.float64))
    n_keep = max(round(keep_fraction * scores.size), 1)
    if n_keep >= scores.size or not np.isfinite(scores[n_keep - 1]):
        threshold = scores[-1] if n_keep >= scores.size else MIN_EPS
    else:
        threshold = scores[n_keep - 1]
    eps = float(np.clip(1.0 - threshold, MIN_EPS, 1.0 - MIN_EPS))
    while eps > MIN_EPS and threshold > 1.0 - eps:  # 1 - (1 - t) may round below t
        eps = float(np.nextafter(eps, 0.0))
    return eps


def keep_target(result: PruneResult, keep_fraction: float) -> dict[str, object]:
    """Whether a SemDeDup result picked by `eps_for_keep_fraction` keeps what the keep fraction promised.

    Returns {"keep_fraction", "n_target", "n_kept", "n_reachable" (the most any eps >= 1e-6 keeps),
    "target_met", "warning" (a sentence when the target is not met, else None)}.
    """
    candidate = result.reason != PruneReason.NOT_CANDIDATE
    scores = result.score[candidate].astype(np.float64)
    n_target = max(round(keep_fraction * scores.size), 1) if scores.size else 0
    n_reachable = int(np.count_nonzero(~(scores > 1.0 - MIN_EPS)))
    met = result.n_kept >= n_target
    warning = None
    if not met:
        warning = (
            f"keep_fraction {keep_fraction:g} asks for {n_target} of {scores.size} candidates, but "
            f"{scores.size - n_reachable} are exact or near-exact copies (similarity > 1 - {MIN_EPS:g} to an "
            f"earlier item) that every eps removes: this run keeps {result.n_kept}."
        )
    return {
        "keep_fraction": keep_fraction,
        "n_target": n_target,
        "n_kept": result.n_kept,
        "n_reachable": n_reachable,
        "target_met": met,
        "warning": warning,
    }


def _kmeans(params: PruneParams, n_clusters: int | None) -> KMeansConfig:
    return KMeansConfig(n_clusters=n_clusters, niter=params.niter)


def _keep_fraction(params: PruneParams) -> float:
    if params.keep_fraction is None:
        raise ValueError(
            f"{params.method} needs a keep fraction: the params were not resolved by prune_params_validate"
        )
    return float(params.keep_fraction)


def _semdedup_config(params: PruneParams) -> SemDeDupConfig:
    # eps is None only for a SemDeDup run given a keep fraction: this pass only scores, and
    # eps_for_keep_fraction then picks the eps, so the threshold of the pass does not matter.
    eps = params.eps if params.eps is not None else SCORING_PASS_EPS
    return SemDeDupConfig(
        eps=eps,
        which_to_keep=params.which_to_keep,  # type: ignore[arg-type]
        seed=params.seed,
        kmeans=_kmeans(params, params.n_clusters),
    )


def _dbp_config(params: PruneParams, n_clusters: int | None) -> DBPConfig:
    return DBPConfig(
        keep_fraction=_keep_fraction(params),
        tau=params.tau,
        cls_bal_ratio=params.cls_bal_ratio,
        which_to_keep=params.which_to_keep,  # type: ignore[arg-type]
        seed=params.seed,
        kmeans=_kmeans(params, n_clusters),
    )


# Each method: (params, unit-norm float32 vectors, n, class labels or None, a stored cluster run or None) -> result.
PRUNE_METHODS: Registry[Callable[..., PruneResult]] = Registry("pruning method")
Labels = np.ndarray | None
Clusters = ClusterAssignment | None


def method_run(
    params: PruneParams,
    vectors: np.ndarray | None,
    n: int,
    class_labels: np.ndarray | None,
    clusters: ClusterAssignment | None,
) -> PruneResult:
    """Run the method named by `params` (see the module comment) on unit-norm float32 `vectors`
    (None only for a method registered with needs_vectors=False)."""
    run = PRUNE_METHODS.get(params.method)
    if vectors is None and PRUNE_METHODS.metadata(params.method).get("needs_vectors", True):
        raise ValueError(f"pruning method {params.method!r} needs the version's embeddings")
    return run(params, vectors, n, class_labels, clusters)


@PRUNE_METHODS.register(PruneMethod.RANDOM.value, needs_vectors=False)
def _random(params: PruneParams, vectors: None, n: int, class_labels: Labels, clusters: Clusters) -> PruneResult:
    control = RandomPruningConfig(keep_fraction=_keep_fraction(params), seed=params.seed)
    return random_pruning(n, control, class_labels=class_labels)


@PRUNE_METHODS.register(PruneMethod.SEMDEDUP.value)
def _semdedup(
    params: PruneParams, vectors: np.ndarray, n: int, class_labels: Labels, clusters: Clusters
) -> PruneResult:
    result = semdedup(vectors, _semdedup_config(params), clusters=clusters)
    if params.eps is None and params.keep_fraction is not None:
        eps = eps_for_keep_fraction(result, params.keep_fraction)
        result = semdedup_rethreshold(result, eps)
        target = keep_target(result, params.keep_fraction)
        result = dataclasses.replace(result, params={**result.params, "keep_target": target})
    return result


@PRUNE_METHODS.register(PruneMethod.DBP.value)
def _dbp(params: PruneParams, vectors: np.ndarray, n: int, class_labels: Labels, clusters: Clusters) -> PruneResult:
    return density_based_pruning(
        vectors, _dbp_config(params, params.n_clusters), class_labels=class_labels, clusters=clusters
    )


@PRUNE_METHODS.register(PruneMethod.SSP.value)
def _ssp(params: PruneParams, vectors: np.ndarray, n: int, class_labels: Labels, clusters: Clusters) -> PruneResult:
    config = PrototypicalityConfig(
        keep_fraction=_keep_fraction(params),
        which_to_keep=params.which_to_keep,  # type: ignore[arg-type]
        min_cluster_share=params.min_cluster_share,
        kmeans=_kmeans(params, params.n_clusters),
    )
    return prototypicality_pruning(vectors, config, class_labels=class_labels)


@PRUNE_METHODS.register(PruneMethod.SEMDEDUP_DBP.value)
def _semdedup_then_dbp(
    params: PruneParams, vectors: np.ndarray, n: int, class_labels: Labels, clusters: Clusters
) -> PruneResult:
    return semdedup_then_dbp(
        vectors,
        _semdedup_config(params),
        _dbp_config(params, params.dbp_n_clusters),
        class_labels=class_labels,
        exact_first=params.exact_first,
    )
