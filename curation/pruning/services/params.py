"""Parameters of cluster and prune runs: defaults in one place, validated before any job starts.

Every refusal is an ApplicationError with a stable code (the API answers 400 with it, commands
exit 1 with its message): invalid_keep_fraction, invalid_eps, invalid_tau, invalid_k, k_too_large,
invalid_method, invalid_parameter, invalid_splits, no_samples_in_splits, embeddings_required,
embeddings_not_ready, embeddings_mismatch, cluster_run_mismatch, not_found.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSet
from curation.ml.clustering import KMeansConfig
from curation.ml.pruning import DBPConfig, PrototypicalityConfig, RandomPruningConfig, SemDeDupConfig
from curation.models import DatasetVersion
from curation.pruning.models import ClusterRun, PruneMethod
from curation.pruning.services.embeddings import embedding_coverage_check
from curation.pruning.services.splits import splits_check

WHICH_TO_KEEP = ("hard", "easy", "random")
NEEDS_KEEP_FRACTION = (PruneMethod.DBP, PruneMethod.SSP, PruneMethod.RANDOM, PruneMethod.SEMDEDUP_DBP)
USES_EPS = (PruneMethod.SEMDEDUP, PruneMethod.SEMDEDUP_DBP)
CAN_REUSE_CLUSTERS = (PruneMethod.SEMDEDUP, PruneMethod.DBP)


@dataclass(frozen=True)
class ClusterParams:
    version_id: int
    embedding_set_id: int
    n_clusters: int | None = None  # None: round(sqrt(n / 2)) (curation.ml.clustering.default_n_clusters)
    niter: int = KMeansConfig.niter
    seed: int = KMeansConfig.seed
    n_inter_neighbors: int = DBPConfig.n_inter_neighbors

    def as_job_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_job(cls, params: dict[str, Any]) -> ClusterParams:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in params.items() if key in names})


@dataclass(frozen=True)
class PruneParams:
    """What a prune run needs; fields a method does not use are ignored by it (see `method_defaults`)."""

    version_id: int
    method: str
    embedding_set_id: int | None = None
    cluster_run_id: int | None = None
    keep_fraction: float | None = None  # SemDeDup: optional target that picks eps
    eps: float | None = None  # None: SemDeDupConfig.eps, unless keep_fraction picks it
    tau: float = DBPConfig.tau
    cls_bal_ratio: float = DBPConfig.cls_bal_ratio
    which_to_keep: str = "hard"
    n_clusters: int | None = None
    dbp_n_clusters: int | None = None
    min_cluster_share: float = PrototypicalityConfig.min_cluster_share
    per_class: bool = False
    exact_first: bool = True
    niter: int = KMeansConfig.niter
    seed: int = RandomPruningConfig.seed
    # The splits whose members may be removed; keep_fraction is a fraction of those. None: train only.
    splits: tuple[str, ...] | None = None

    def as_job_params(self) -> dict[str, Any]:
        params = dataclasses.asdict(self)
        params["splits"] = list(self.splits) if self.splits is not None else None
        return params

    @classmethod
    def from_job(cls, params: dict[str, Any]) -> PruneParams:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in params.items() if key in names}
        if values.get("splits") is not None:
            values["splits"] = tuple(values["splits"])
        return cls(**values)

    def method_params(self) -> dict[str, Any]:
        """The parameters this method uses, with their values (what the run stores and the UI shows)."""
        return {name: getattr(self, name) for name in method_defaults(self.method)}


def method_defaults(method: str) -> dict[str, Any]:
    """Each method's parameters and their defaults, in display order."""
    kmeans = {"n_clusters": None, "niter": KMeansConfig.niter}
    semdedup = {"eps": SemDeDupConfig.eps, "which_to_keep": SemDeDupConfig.which_to_keep}
    dbp = {"tau": DBPConfig.tau, "cls_bal_ratio": DBPConfig.cls_bal_ratio, "which_to_keep": DBPConfig.which_to_keep}
    defaults: dict[str, dict[str, Any]] = {
        PruneMethod.SEMDEDUP: {"keep_fraction": None, **semdedup, **kmeans, "seed": SemDeDupConfig.seed},
        PruneMethod.DBP: {"keep_fraction": DBPConfig.keep_fraction, **dbp, **kmeans, "per_class": False, "seed": 1234},
        PruneMethod.SSP: {
            "keep_fraction": PrototypicalityConfig.keep_fraction,
            "which_to_keep": PrototypicalityConfig.which_to_keep,
            "min_cluster_share": PrototypicalityConfig.min_cluster_share,
            **kmeans,
            "per_class": False,
        },
        PruneMethod.RANDOM: {
            "keep_fraction": RandomPruningConfig.keep_fraction,
            "per_class": False,
            "seed": RandomPruningConfig.seed,
        },
        PruneMethod.SEMDEDUP_DBP: {
            "keep_fraction": DBPConfig.keep_fraction,
            "exact_first": True,
            **semdedup,
            "tau": DBPConfig.tau,
            "cls_bal_ratio": DBPConfig.cls_bal_ratio,
            **kmeans,
            "dbp_n_clusters": None,
            "per_class": False,
            "seed": 1234,
        },
    }
    if method not in defaults:
        raise ApplicationError(
            f"Unknown method {method!r}; choose one of {', '.join(PruneMethod.values)}.", code="invalid_method"
        )
    return dict(defaults[method])


# --- validation ----------------------------------------------------------------------------------------


def version_get_or_error(version_id: int) -> DatasetVersion:
    version = DatasetVersion.objects.select_related("dataset").filter(pk=version_id).first()
    if version is None:
        raise ApplicationError(f"Version {version_id} does not exist.", code="not_found", status_code=404)
    return version


def embedding_set_choose(*, version: DatasetVersion, embedding_set_id: int | None) -> EmbeddingSet:
    """The named set, or the newest ready set of the version itself; refused unless it covers the version."""
    if embedding_set_id is not None:
        embedding_set = EmbeddingSet.objects.filter(pk=embedding_set_id).first()
        if embedding_set is None:
            raise ApplicationError(f"Embedding set {embedding_set_id} does not exist.", code="embeddings_mismatch")
    else:
        # Imported here: curation.embeddings.selectors imports torch and FAISS, which a prune job never needs.
        from curation.embeddings.selectors import embedding_set_latest_ready

        embedding_set = embedding_set_latest_ready(version_id=version.pk)
        if embedding_set is None:
            raise ApplicationError(
                f"Version {version.pk} has no ready embedding set; embed it first or name one.",
                code="embeddings_required",
            )
    embedding_coverage_check(version=version, embedding_set=embedding_set)
    return embedding_set


def _k_check(k: int | None, n: int, *, name: str = "k") -> None:
    if k is None:
        return
    if k < 1:
        raise ApplicationError(f"{name} must be at least 1, got {k}.", code="invalid_k")
    if k > n:
        raise ApplicationError(f"{name} = {k} is larger than the {n} samples to cluster.", code="k_too_large")


def _positive_int(value: int, name: str) -> None:
    if value < 1:
        raise ApplicationError(f"{name} must be at least 1, got {value}.", code="invalid_parameter")


def cluster_params_validate(
    *,
    version_id: int,
    embedding_set_id: int | None = None,
    n_clusters: int | None = None,
    niter: int = KMeansConfig.niter,
    seed: int = KMeansConfig.seed,
    n_inter_neighbors: int = DBPConfig.n_inter_neighbors,
) -> ClusterParams:
    """Check everything a clustering job would refuse, and resolve the embedding set."""
    version = version_get_or_error(version_id)
    _k_check(n_clusters, version.sample_count)
    _positive_int(niter, "niter")
    _positive_int(n_inter_neighbors, "n_inter_neighbors")
    embedding_set = embedding_set_choose(version=version, embedding_set_id=embedding_set_id)
    return ClusterParams(version.pk, embedding_set.pk, n_clusters, niter, seed, n_inter_neighbors)


def prune_params_validate(**given: Any) -> PruneParams:
    """Check a prune request (keyword arguments as PruneParams; None means the default) and resolve its inputs."""
    values = {key: value for key, value in given.items() if value is not None}
    try:
        params = PruneParams(**values)
    except TypeError as exc:
        raise ApplicationError(str(exc), code="invalid_parameter")
    defaults = method_defaults(params.method)
    version = version_get_or_error(params.version_id)
    splits = splits_check(version=version, splits=params.splits)
    params = dataclasses.replace(params, splits=splits)
    _numbers_check(params, version.sample_count)
    if params.keep_fraction is None and "keep_fraction" in defaults and defaults["keep_fraction"] is not None:
        params = dataclasses.replace(params, keep_fraction=defaults["keep_fraction"])
    if params.eps is None and params.method in USES_EPS and params.keep_fraction is None:
        params = dataclasses.replace(params, eps=SemDeDupConfig.eps)
    if params.method == PruneMethod.RANDOM:
        return dataclasses.replace(params, embedding_set_id=None, cluster_run_id=None)
    embedding_set = embedding_set_choose(version=version, embedding_set_id=params.embedding_set_id)
    params = dataclasses.replace(params, embedding_set_id=embedding_set.pk)
    if params.cluster_run_id is not None:
        _cluster_run_check(params, version)
    return params


def _numbers_check(params: PruneParams, n: int) -> None:
    if params.keep_fraction is not None and not 0.0 < params.keep_fraction <= 1.0:
        raise ApplicationError(
            f"keep_fraction is the fraction KEPT and must lie in (0, 1], got {params.keep_fraction}.",
            code="invalid_keep_fraction",
        )
    if params.eps is not None and not 0.0 < params.eps < 1.0:
        raise ApplicationError(f"eps must lie in (0, 1), got {params.eps}.", code="invalid_eps")
    if params.tau <= 0:
        raise ApplicationError(f"tau must be positive, got {params.tau}.", code="invalid_tau")
    if params.cls_bal_ratio < 0 or not 0.0 <= params.min_cluster_share <= 1.0:
        raise ApplicationError("cls_bal_ratio must be >= 0 and min_cluster_share in [0, 1].", code="invalid_parameter")
    allowed = ("hard", "easy") if params.method == PruneMethod.SSP else WHICH_TO_KEEP
    if params.which_to_keep not in allowed:
        raise ApplicationError(
            f"which_to_keep must be one of {', '.join(allowed)}, got {params.which_to_keep!r}.",
            code="invalid_parameter",
        )
    _k_check(params.n_clusters, n)
    _k_check(params.dbp_n_clusters, n, name="dbp_n_clusters")
    _positive_int(params.niter, "niter")


def _cluster_run_check(params: PruneParams, version: DatasetVersion) -> None:
    cluster_run = ClusterRun.objects.filter(pk=int(params.cluster_run_id or 0)).first()
    if cluster_run is None or cluster_run.version_id != version.pk:
        raise ApplicationError(
            f"Cluster run {params.cluster_run_id} is not a clustering of version {version.pk}.",
            code="cluster_run_mismatch",
        )
    if params.method not in CAN_REUSE_CLUSTERS or params.per_class:
        raise ApplicationError(
            "An existing cluster run can be reused by semdedup and dbp (without per_class) only.",
            code="cluster_run_mismatch",
        )
    if cluster_run.embedding_set_id != params.embedding_set_id:
        raise ApplicationError(
            f"Cluster run {cluster_run.pk} used embedding set {cluster_run.embedding_set_id}, "
            f"not {params.embedding_set_id}.",
            code="cluster_run_mismatch",
        )
