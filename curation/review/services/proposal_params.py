"""Parameters of label proposal runs: defaults in one place, checked before any job starts.

Refusals are ApplicationErrors with stable codes: invalid_source, invalid_parameter, not_found (404),
embeddings_required (details: version_id, embed_url, the endpoint that embeds it), embeddings_not_ready,
no_text_tower, cluster_run_required, trained_model_required, dataset_mismatch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core.api_errors import ApplicationError
from core.params import ParamError, param, params_from_data
from curation.embeddings.errors import EmbeddingsRequired
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import embedding_set_latest_ready
from curation.models import DatasetVersion, Split
from curation.pruning.models import ClusterRun
from curation.review.models import ProposalSource
from robustness.models import TrainedModel

STARTABLE_SOURCES: tuple[str, ...] = (
    ProposalSource.CONFIDENT_LEARNING,
    ProposalSource.MODEL_TOPK,
    ProposalSource.CLIP_ZERO_SHOT,
    ProposalSource.MIXED_CLUSTER,
)


def _id_param(name: str, help_text: str, *, cli: str, default_text: str = "none") -> Any:
    return param(None, name=name, cli=cli, help=help_text, default_text=default_text)


def _share_param(default: float, help_text: str, *, low_inclusive: bool = False) -> Any:
    bounds = "[0, 1]" if low_inclusive else "(0, 1]"
    return param(
        default,
        min=0.0,
        max=1.0,
        min_exclusive=not low_inclusive,
        message="{name} must lie in " + bounds,
        help=help_text,
    )


def _count_param(default: int, low: int, high: int, help_text: str) -> Any:
    return param(default, min=low, max=high, message="{name} must be between " + f"{low} and {high}", help=help_text)


@dataclass(frozen=True)
class ProposalParams:
    """Parameters of a proposal run, declared once (core.params): the API, the new-queue page's form and
    `manage.py propose_labels` come from here. Each source uses the fields listed in SOURCE_FIELDS."""

    version_id: int = param(name="version", cli="version_id", help="Id of the version to propose labels for.")
    source: str = param(
        ProposalSource.CONFIDENT_LEARNING.value,
        choices=STARTABLE_SOURCES,
        api_enum=False,  # the API took a string and refused others with invalid_source
        code="invalid_source",
        message="unknown source {value!r}; {bounds}",
        help="confident_learning (cleanlab on a linear probe), model_topk, clip_zero_shot or mixed_cluster.",
    )
    embedding_set_id: int | None = _id_param(
        "embedding_set", "Embedding set (confident_learning, clip_zero_shot).", cli="--embeddings",
        default_text="the version's newest ready set",
    )  # fmt: skip
    cluster_run_id: int | None = _id_param("cluster_run", "mixed_cluster: the cluster run.", cli="--cluster-run")
    trained_model_id: int | None = _id_param("trained_model", "model_topk: the trained model.", cli="--model")
    folds: int = _count_param(5, 2, 20, "confident_learning: cross-validation folds.")
    C: float = param(
        1.0, min=0.0, min_exclusive=True, message="C must be positive", help="confident_learning: the probe's C."
    )
    multi_label: str = param(
        "auto",
        choices=("auto", "yes", "no"),
        message="multi_label must be auto, yes or no",
        help="confident_learning: auto uses the multi-label variant when a member carries several labels.",
    )
    instances: str = param(
        "auto",
        choices=("auto", "no"),
        message="instances must be auto or no",
        help=(
            "confident_learning: same-object evidence. auto matches objects across the members' images (local "
            "features, at most 5,000 members) and lets images that show one object photo decide each other's label "
            "issues; no uses the probe alone."
        ),
    )
    min_probability: float = _share_param(0.2, "confident_learning: the least probability of a proposed label.")
    secondary_probability: float = _share_param(0.3, "confident_learning: the least probability of a second label.")
    top_k: int = _count_param(3, 1, 20, "Labels per sample at most.")
    threshold: float = _share_param(0.3, "Top-k / zero-shot floor.", low_inclusive=True)
    prompt: str = param("a photo of a {}.", help="clip_zero_shot: the prompt, {} where the class name goes.")
    min_share: float = _share_param(0.5, "mixed_cluster: the share of a cluster's majority label to propose it.")
    seed: int = param(0, help="Seed of the folds.")
    batch_size: int = _count_param(32, 1, 1024, "model_topk: images per forward.")
    splits: tuple[str, ...] = param(
        (),
        choices=Split.values,
        cli="--split",
        message="splits must be among " + ", ".join(Split.values),
        help="Only the members of these splits.",
        default_text="every split",
    )

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
        "embedding_set_id", "folds", "C", "multi_label", "instances", "min_probability", "secondary_probability",
        "top_k", "threshold", "seed", "splits",
    ),
    ProposalSource.MODEL_TOPK: ("trained_model_id", "top_k", "threshold", "batch_size", "splits"),
    ProposalSource.CLIP_ZERO_SHOT: ("embedding_set_id", "prompt", "top_k", "threshold", "splits"),
    ProposalSource.MIXED_CLUSTER: ("cluster_run_id", "min_share", "splits"),
}  # fmt: skip
assert set(SOURCE_FIELDS) == set(STARTABLE_SOURCES)


def _invalid(message: str, code: str = "invalid_parameter") -> ApplicationError:
    return ApplicationError(message, code=code)


def proposal_params_validate(**raw: Any) -> ProposalParams:
    """Checked parameters (keyword arguments as ProposalParams, defaults filled in) or ApplicationError:
    invalid_source, invalid_parameter (details name the field), not_found, embeddings_required,
    embeddings_not_ready, no_text_tower, cluster_run_required, trained_model_required, dataset_mismatch."""
    params = params_from_data(ProposalParams, raw)
    version = DatasetVersion.objects.filter(pk=params.version_id).first()
    if version is None:
        raise ApplicationError(f"Version {params.version_id} does not exist.", code="not_found", status_code=404)
    if "{}" not in params.prompt:
        raise ParamError("prompt", "prompt must contain {} where the class name goes")
    if "embedding_set_id" in SOURCE_FIELDS[params.source]:
        params = dataclasses.replace(params, embedding_set_id=_embedding_set_for(params, version).pk)
    if params.source == ProposalSource.MIXED_CLUSTER:
        _cluster_run_check(params, version)
    if params.source == ProposalSource.MODEL_TOPK:
        _trained_model_check(params)
    return params


def _embedding_set_for(params: ProposalParams, version: DatasetVersion) -> EmbeddingSet:
    if params.embedding_set_id is None:
        embedding_set = embedding_set_latest_ready(version_id=version.pk)
        if embedding_set is None:
            raise EmbeddingsRequired(version)  # a pruned version has none until embedded
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
    if params.trained_model_id is None:
        raise _invalid("model_topk needs trained_model_id", "trained_model_required")
    if not TrainedModel.objects.filter(pk=params.trained_model_id).exists():
        raise ApplicationError(
            f"Trained model {params.trained_model_id} does not exist.", code="not_found", status_code=404
        )
