# Over 300 lines: ClusterParams and PruneParams with each method's defaults and checks are the one contract the API,
# form and command read.
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
from core.params import param, params_from_data
from curation.embeddings.errors import EmbeddingsRequired
from curation.embeddings.models import EmbeddingSet
from curation.ml.clustering import KMeansConfig
from curation.ml.pruning import DBPConfig, PrototypicalityConfig, RandomPruningConfig, SemDeDupConfig
from curation.models import DatasetVersion
from curation.pruning.models import ClusterRun, PruneMethod
from curation.pruning.services.embeddings import embedding_coverage_check
from curation.pruning.services.splits import SPLITS, splits_check

WHICH_TO_KEEP = ("hard", "easy", "random")
NEEDS_KEEP_FRACTION = (PruneMethod.DBP, PruneMethod.SSP, PruneMethod.RANDOM, PruneMethod.SEMDEDUP_DBP)
USES_EPS = (PruneMethod.SEMDEDUP, PruneMethod.SEMDEDUP_DBP)
CAN_REUSE_CLUSTERS = (PruneMethod.SEMDEDUP, PruneMethod.DBP)


HELP = {
    "keep_fraction": (
        "Fraction of the samples of the pruned splits KEPT. DBP keeps floor(fraction × n), as its reference; "
        "SemDeDup picks eps from it and warns when exact copies make it unreachable; semdedup+dbp: a fraction "
        "of SemDeDup's survivors."
    ),
    "eps": "SemDeDup: remove a sample whose cosine similarity to an earlier one in its cluster exceeds 1 − eps.",
    "which_to_keep": (
        "hard: keep the farthest from the centroid; easy: the nearest; random (not ssp). Of exact copies, hard "
        "keeps the earlier sample and easy the later, as the reference code."
    ),
    "tau": "DBP: softmax temperature over cluster complexity; smaller gives complex clusters more.",
    "cls_bal_ratio": (
        "DBP: each cluster keeps at least int(N / k × ratio), at most |c| − 1 (lower bound); 0 means at least 1, "
        "as in the reference. Each cluster's complexity is its own, singletons included."
    ),
    "n_clusters": "k of the k-means.",
    "dbp_n_clusters": "semdedup+dbp: k of DBP's k-means on SemDeDup's survivors.",
    "niter": "k-means iterations.",
    "min_cluster_share": "SSP: per-cluster minimum as a share of N / k (0: none).",
    "per_class": "Apply the budget within each class.",
    "exact_first": "semdedup+dbp: drop byte-identical embeddings before SemDeDup.",
    "seed": "Seed of the random choices.",
    "splits": (
        "Only samples of these splits may be removed; the others are kept as they are. The keep fraction "
        "applies to the samples of these splits."
    ),
}
AUTOMATIC_K = "round(√(n / 2))"


def _version_param(what: str) -> Any:
    return param(name="version", cli="version_id", page=False, help=f"Id of the version to {what}.")


def _embedding_set_param() -> Any:
    return param(
        None,
        name="embedding_set",
        cli="--embeddings",
        cli_aliases=("--embedding-set",),
        label="Embedding set",
        help="Id of the embedding set.",
        default_text="the version's newest ready set",
    )


def _k_param(help_text: str, aliases: tuple[str, ...], label: str) -> Any:
    return param(None, min=1, code="invalid_k", aliases=aliases, label=label, help=help_text, default_text=AUTOMATIC_K)


@dataclass(frozen=True)
class ClusterParams:
    """What a clustering job needs: the one declaration of its API fields, form fields and command options."""

    version_id: int = _version_param("cluster")
    embedding_set_id: int | None = _embedding_set_param()
    n_clusters: int | None = _k_param(HELP["n_clusters"], ("k",), "k")
    niter: int = param(KMeansConfig.niter, min=1, label="Iterations", help=HELP["niter"])
    seed: int = param(KMeansConfig.seed, label="Seed", help="k-means seed.")
    n_inter_neighbors: int = param(
        DBPConfig.n_inter_neighbors,
        min=1,
        label="Neighbours for d_inter",
        help="Nearest other centroids averaged into each cluster's d_inter.",
    )

    def as_job_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_job(cls, params: dict[str, Any]) -> ClusterParams:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in params.items() if key in names})


@dataclass(frozen=True)
class PruneParams:
    """What a prune run needs, declared once (API, page form and command come from here).

    Fields a method does not use are ignored by it (see `method_defaults`). keep_fraction and eps
    default to None here because their default depends on the method: `prune_params_validate`
    resolves them, once.
    """

    version_id: int = _version_param("prune")
    method: str = param(choices=PruneMethod.values, code="invalid_method")
    embedding_set_id: int | None = _embedding_set_param()
    cluster_run_id: int | None = param(
        None,
        name="cluster_run",
        label="Cluster run",
        help="Reuse this clustering of the version (semdedup and dbp without per_class; the same embedding set).",
        default_text="cluster anew",
    )
    keep_fraction: float | None = param(
        None,
        min=0.0,
        max=1.0,
        min_exclusive=True,
        code="invalid_keep_fraction",
        message="{name} is the fraction KEPT and must lie {bounds}, got {value!r}.",
        label="Keep fraction",
        help=HELP["keep_fraction"],
        default_text=f"{DBPConfig.keep_fraction:g} (semdedup: none, eps decides)",
    )
    eps: float | None = param(
        None,
        min=0.0,
        max=1.0,
        min_exclusive=True,
        max_exclusive=True,
        code="invalid_eps",
        label="eps",
        help=HELP["eps"],
        default_text=f"{SemDeDupConfig.eps:g} (semdedup with a keep fraction: picked from it)",
    )
    tau: float = param(
        DBPConfig.tau, min=0.0, min_exclusive=True, code="invalid_tau", label="Temperature τ", help=HELP["tau"]
    )
    cls_bal_ratio: float = param(
        DBPConfig.cls_bal_ratio, min=0.0, label="Class-balance ratio", help=HELP["cls_bal_ratio"]
    )
    which_to_keep: str = param(
        DBPConfig.which_to_keep,
        choices=WHICH_TO_KEEP,
        api_enum=False,  # the API took a free string and refused others with invalid_parameter
        label="Which to keep",
        help=HELP["which_to_keep"],
    )
    n_clusters: int | None = _k_param(HELP["n_clusters"], ("k",), "k")
    dbp_n_clusters: int | None = _k_param(HELP["dbp_n_clusters"], ("dbp_k",), "DBP k")
    min_cluster_share: float = param(
        PrototypicalityConfig.min_cluster_share,
        min=0.0,
        max=1.0,
        label="Per-cluster minimum share",
        help=HELP["min_cluster_share"],
    )
    per_class: bool = param(False, label="Per class", help=HELP["per_class"])
    exact_first: bool = param(True, label="Exact dedup first", help=HELP["exact_first"])
    niter: int = param(KMeansConfig.niter, min=1, label="k-means iterations", help=HELP["niter"])
    seed: int = param(RandomPruningConfig.seed, label="Seed", help=HELP["seed"])
    # The splits whose members may be removed; keep_fraction is a fraction of those. None: train only.
    splits: tuple[str, ...] | None = param(
        None,
        choices=SPLITS,
        cli="--split",
        code="invalid_splits",
        label="Splits to prune",
        help=HELP["splits"],
        default_text="train only, so evaluation data is never pruned unless chosen",
    )

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


def _default(name: str) -> Any:
    return PruneParams.__dataclass_fields__[name].default


def method_defaults(method: str) -> dict[str, Any]:
    """Each method's parameters and their defaults, in display order (the dataclass defaults, but for the
    keep fraction, which SemDeDup leaves to eps, and eps, which only the SemDeDup methods use)."""
    kmeans = {"n_clusters": None, "niter": _default("niter")}
    semdedup = {"eps": SemDeDupConfig.eps, "which_to_keep": _default("which_to_keep")}
    dbp = {
        "tau": _default("tau"),
        "cls_bal_ratio": _default("cls_bal_ratio"),
        "which_to_keep": _default("which_to_keep"),
    }
    keep = {"keep_fraction": DBPConfig.keep_fraction}
    seed, per_class = {"seed": _default("seed")}, {"per_class": _default("per_class")}
    defaults: dict[str, dict[str, Any]] = {
        PruneMethod.SEMDEDUP: {"keep_fraction": None, **semdedup, **kmeans, **seed},
        PruneMethod.DBP: {**keep, **dbp, **kmeans, **per_class, **seed},
        PruneMethod.SSP: {
            **keep,
            "which_to_keep": _default("which_to_keep"),
            "min_cluster_share": _default("min_cluster_share"),
            **kmeans,
            **per_class,
        },
        PruneMethod.RANDOM: {**keep, **per_class, **seed},
        PruneMethod.SEMDEDUP_DBP: {
            **keep,
            "exact_first": _default("exact_first"),
            **semdedup,
            "tau": _default("tau"),
            "cls_bal_ratio": _default("cls_bal_ratio"),
            **kmeans,
            "dbp_n_clusters": None,
            **per_class,
            **seed,
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
        from curation.embeddings.selectors import embedding_set_latest_ready  # noqa: PLC0415 - embeddings selectors import torch and FAISS, which a prune job never needs

        embedding_set = embedding_set_latest_ready(version_id=version.pk)
        if embedding_set is None:
            raise EmbeddingsRequired(version, otherwise="or name one")
    embedding_coverage_check(version=version, embedding_set=embedding_set)
    return embedding_set


def _k_check(k: int | None, n: int, *, name: str = "k") -> None:
    if k is None:
        return
    if k > n:
        raise ApplicationError(f"{name} = {k} is larger than the {n} samples to cluster.", code="k_too_large")


def cluster_params_validate(**given: Any) -> ClusterParams:
    """Check a clustering request (keyword arguments as ClusterParams; None means the default) and resolve
    the embedding set. Refusals name the parameter (core.params.ParamError) or carry a code above."""
    params = params_from_data(ClusterParams, given)
    version = version_get_or_error(params.version_id)
    _k_check(params.n_clusters, version.sample_count)
    embedding_set = embedding_set_choose(version=version, embedding_set_id=params.embedding_set_id)
    return dataclasses.replace(params, version_id=version.pk, embedding_set_id=embedding_set.pk)


def prune_params_validate(**given: Any) -> PruneParams:
    """Check a prune request (keyword arguments as PruneParams; None means the default) and resolve its inputs.

    The only place defaults are applied: the dataclass's, then the method's keep fraction and eps (a
    SemDeDup run given a keep fraction leaves eps to it); the methods take the values as they are.
    """
    if given.get("method") is not None and given["method"] not in PruneMethod.values:
        method_defaults(str(given["method"]))  # invalid_method, with the list of methods
    params = params_from_data(PruneParams, given)
    defaults = method_defaults(params.method)
    version = version_get_or_error(params.version_id)
    splits = splits_check(version=version, splits=params.splits)
    params = dataclasses.replace(params, splits=splits)
    _numbers_check(params, version.sample_count)
    if params.keep_fraction is None and defaults.get("keep_fraction") is not None:
        params = dataclasses.replace(params, keep_fraction=defaults["keep_fraction"])
    if (
        params.eps is None
        and params.method in USES_EPS
        and (params.keep_fraction is None or params.method != PruneMethod.SEMDEDUP)
    ):
        params = dataclasses.replace(params, eps=SemDeDupConfig.eps)
    if params.method == PruneMethod.RANDOM:
        return dataclasses.replace(params, embedding_set_id=None, cluster_run_id=None)
    embedding_set = embedding_set_choose(version=version, embedding_set_id=params.embedding_set_id)
    params = dataclasses.replace(params, embedding_set_id=embedding_set.pk)
    if params.cluster_run_id is not None:
        _cluster_run_check(params, version)
    return params


def _numbers_check(params: PruneParams, n: int) -> None:
    """What the declared bounds cannot say: ssp has no random order, and k is at most the sample count."""
    if params.method == PruneMethod.SSP and params.which_to_keep == "random":
        raise ApplicationError(
            f"which_to_keep must be one of hard, easy for ssp, got {params.which_to_keep!r}.",
            code="invalid_parameter",
        )
    _k_check(params.n_clusters, n)
    _k_check(params.dbp_n_clusters, n, name="dbp_n_clusters")


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
