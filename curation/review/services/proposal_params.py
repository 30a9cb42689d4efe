"""Parameters of label proposal runs: defaults in one place, checked before any job starts.

Refusals are ApplicationErrors with stable codes: invalid_source, invalid_parameter, not_found (404),
embeddings_required, embeddings_not_ready, no_text_tower, cluster_run_required,
trained_model_required, dataset_mismatch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import embedding_set_latest_ready
from curation.models import DatasetVersion, Split
from curation.review.models import ProposalSource


@dataclass(frozen=True)
class ProposalParams:
    """Parameters of a proposal run; each source uses the fields listed in SOURCE_FIELDS."""

    version_id: int
    source: str
    embedding_set_id: int | None = None  # default: the version's newest ready set
    cluster_run_id: int | None = None
    trained_model_id: int | None = None
    folds: int = 5
    C: float = 1.0
    multi_label: str = "auto"  # auto: the multi-label variant when a member carries several labels
    min_probability: float = 0.2
    secondary_probability: float = 0.3
    top_k: int = 3
    threshold: float = 0.3
    prompt: str = "a photo of a {}."
    min_share: float = 0.5
    seed: int = 0
    batch_size: int = 32
    splits: tuple[str, ...] = ()  # the members of these splits only; () = every split

    def as_job_params(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "splits": list(self.splits)}

    @classmethod
    def from_job(cls, params: dict[str, Any]) -> ProposalParams:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in params.items() if key in names}
        if values.get("splits") is not None:
            values["splits"] = tuple(values["splits"])
        return cls(**values)

    def id_of(self, name: str) -> int:
        """The id field ``name`` (checked by proposal_params_validate, so set for the sources that use it)."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"{name} is not set")
        return int(value)

    def source_params(self) -> dict[str, Any]:
        """The parameters this source uses, with their values (what the run stores and the UI shows)."""
        values = {name: getattr(self, name) for name in SOURCE_FIELDS[self.source]}
        return {**values, "splits": list(self.splits)}


SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    ProposalSource.CONFIDENT_LEARNING: (
        "embedding_set_id", "folds", "C", "multi_label", "min_probability", "secondary_probability", "top_k",
        "threshold", "seed", "splits",
    ),
    ProposalSource.MODEL_TOPK: ("trained_model_id", "top_k", "threshold", "batch_size", "splits"),
    ProposalSource.CLIP_ZERO_SHOT: ("embedding_set_id", "prompt", "top_k", "threshold", "splits"),
    ProposalSource.MIXED_CLUSTER: ("cluster_run_id", "min_share", "splits"),
}  # fmt: skip
STARTABLE_SOURCES = tuple(SOURCE_FIELDS)


def _invalid(message: str, code: str = "invalid_parameter") -> ApplicationError:
    return ApplicationError(message, code=code)


def proposal_params_validate(**raw: Any) -> ProposalParams:
    """Checked parameters (defaults filled in) or ApplicationError: invalid_source, invalid_parameter,
    not_found, embeddings_required, embeddings_not_ready, no_text_tower, cluster_run_required,
    trained_model_required, dataset_mismatch."""
    unknown = set(raw) - {f.name for f in dataclasses.fields(ProposalParams)}
    if unknown:
        raise _invalid(f"unknown parameters: {', '.join(sorted(unknown))}")
    try:
        params = ProposalParams.from_job(raw)
    except TypeError as exc:
        raise _invalid(str(exc))
    if params.source not in STARTABLE_SOURCES:
        raise _invalid(f"unknown source {params.source!r}; one of {', '.join(STARTABLE_SOURCES)}", "invalid_source")
    version = DatasetVersion.objects.filter(pk=params.version_id).first()
    if version is None:
        raise ApplicationError(f"Version {params.version_id} does not exist.", code="not_found", status_code=404)
    _ranges_check(params)
    if "embedding_set_id" in SOURCE_FIELDS[params.source]:
        params = dataclasses.replace(params, embedding_set_id=_embedding_set_for(params, version).pk)
    if params.source == ProposalSource.MIXED_CLUSTER:
        _cluster_run_check(params, version)
    if params.source == ProposalSource.MODEL_TOPK:
        _trained_model_check(params)
    return params


def _ranges_check(params: ProposalParams) -> None:
    checks = [
        (2 <= params.folds <= 20, "folds must be between 2 and 20"),
        (params.C > 0, "C must be positive"),
        (params.multi_label in ("auto", "yes", "no"), "multi_label must be auto, yes or no"),
        (0 < params.min_probability <= 1, "min_probability must lie in (0, 1]"),
        (0 < params.secondary_probability <= 1, "secondary_probability must lie in (0, 1]"),
        (1 <= params.top_k <= 20, "top_k must be between 1 and 20"),
        (0 <= params.threshold <= 1, "threshold must lie in [0, 1]"),
        (0 < params.min_share <= 1, "min_share must lie in (0, 1]"),
        ("{}" in params.prompt, "prompt must contain {} where the class name goes"),
        (1 <= params.batch_size <= 1024, "batch_size must be between 1 and 1024"),
        (
            all(split in Split.values for split in params.splits),
            f"splits must be among {', '.join(Split.values)}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise _invalid(message)


def _embedding_set_for(params: ProposalParams, version: DatasetVersion) -> EmbeddingSet:
    if params.embedding_set_id is None:
        embedding_set = embedding_set_latest_ready(version_id=version.pk)
        if embedding_set is None:
            raise _invalid(f"Version {version.pk} has no ready embedding set: embed it first.", "embeddings_required")
    else:
        embedding_set = EmbeddingSet.objects.filter(pk=params.embedding_set_id).first()
        if embedding_set is None:
            raise ApplicationError(
                f"Embedding set {params.embedding_set_id} does not exist.", code="not_found", status_code=404
            )
    if embedding_set.status != EmbeddingSetStatus.READY:
        raise _invalid(
            f"Embedding set {embedding_set.pk} is {embedding_set.status}, not ready.", "embeddings_not_ready"
        )
    if embedding_set.dataset_id != version.dataset_id:
        raise _invalid(f"Embedding set {embedding_set.pk} belongs to another dataset.", "dataset_mismatch")
    if params.source == ProposalSource.CLIP_ZERO_SHOT and not (
        embedding_set.has_text_tower and embedding_set.encoder_spec.get("weights")
    ):
        raise _invalid(
            f"{embedding_set.encoder_name} has no text tower with weights: zero-shot needs an open_clip set.",
            "no_text_tower",
        )
    return embedding_set


def _cluster_run_check(params: ProposalParams, version: DatasetVersion) -> None:
    from curation.pruning.models import ClusterRun

    if params.cluster_run_id is None:
        raise _invalid("mixed_cluster needs cluster_run_id", "cluster_run_required")
    run = ClusterRun.objects.filter(pk=params.cluster_run_id).select_related("version").first()
    if run is None:
        raise ApplicationError(
            f"Cluster run {params.cluster_run_id} does not exist.", code="not_found", status_code=404
        )
    if run.version.dataset_id != version.dataset_id:
        raise _invalid(f"Cluster run {run.pk} belongs to another dataset.", "dataset_mismatch")


def _trained_model_check(params: ProposalParams) -> None:
    from robustness.models import TrainedModel

    if params.trained_model_id is None:
        raise _invalid("model_topk needs trained_model_id", "trained_model_required")
    if not TrainedModel.objects.filter(pk=params.trained_model_id).exists():
        raise ApplicationError(
            f"Trained model {params.trained_model_id} does not exist.", code="not_found", status_code=404
        )
