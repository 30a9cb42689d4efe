"""Failure-slice reports: check a request (the run kit creates the report and its `find_slices` job), run it.

The checks that can fail fast do so before any job exists (the API answers 400): bad parameters, a
version without held-out samples (`no_held_out`), a split without labelled samples (`empty_split`), a
model whose classes cannot cover the version's labels (`classes_mismatch`), an embedding set that is not
ready or not of this dataset, or none to take (`invalid_embeddings`). What is clustered (params `features`):
by default ("auto") the embedding set named, else the model's penultimate features; "embeddings" takes the
version's newest ready set when none is named, "model" refuses a named set. The report records the set and
`results.embeddings.chosen` says how it was chosen. The job repeats the class check, decodes the split at the
model's input size, runs the model once (predictions and penultimate features), takes the encoder's rows when
a set is recorded, and runs the discovery (explain/slices/ml). A failed or cancelled report keeps its row and
its job's reason; the run kit's cleanup removes its partial results.
"""

from typing import Any, cast

import numpy as np
from django.contrib.auth.models import User
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.embeddings.errors import EmbeddingsRequired
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors.sets import embedding_set_arrays, embedding_set_latest_ready
from curation.models import DatasetVersion, Split, VersionSample
from explain.slices.ml.discovery import SliceSettings, foreign_context, slices_discover
from explain.slices.models import SliceReport
from explain.slices.services.inference import ModelOutputs, classes_or_fail, model_outputs
from explain.slices.services.params import slices_params_validate, slices_split_resolve
from explain.slices.services.results import discovery_results, report_headline
from jobs.runs.services import run_create
from jobs.runtime import JobContext, JobFailed
from robustness.evaluation.services.dataset import evaluation_classes_check
from robustness.models import TrainedModel

FIND_SLICES_JOB_KIND = "find_slices"
CONTEXT_TRAIN_MAX = 20_000  # training samples (a seeded subset of a bigger split) the foreign context is read from


def _embedding_set_check(embedding_set: EmbeddingSet, version: DatasetVersion) -> None:
    if embedding_set.dataset_id != version.dataset_id:
        raise ApplicationError(
            f"Embedding set {embedding_set.pk} belongs to another dataset: its rows cannot cover this version.",
            code="invalid_embeddings",
        )
    if embedding_set.status != EmbeddingSetStatus.READY:
        raise ApplicationError(
            f"Embedding set {embedding_set.pk} is {embedding_set.status}, not ready.", code="invalid_embeddings"
        )


def _embedding_set_choose(
    features: str, embedding_set: EmbeddingSet | None, version: DatasetVersion
) -> EmbeddingSet | None:
    """The set to cluster: the one named, else (features=embeddings) the version's newest ready set; None: the
    model's features. The default stays the model's features: on held-out composite probes neither the encoder's
    embeddings nor both together found the background slices more often (docs/METHODS.md §13)."""
    if features == "model":
        if embedding_set is not None:
            raise ApplicationError(
                "features=model clusters the model's own features: name no embedding set with it.",
                code="invalid_params",
            )
        return None
    if embedding_set is not None or features == "auto":
        return embedding_set
    latest = embedding_set_latest_ready(version_id=version.pk)
    if latest is None:
        raise EmbeddingsRequired(version, code="invalid_embeddings", otherwise="name one, or use features=model")
    return latest


def slice_report_create(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    params: dict[str, Any] | None = None,
    embedding_set: EmbeddingSet | None = None,
    requested_by: User | None,
    enqueue: bool = True,
) -> SliceReport:
    """Check the request, create the report and its `find_slices` job (gpu queue), and send it once committed.

    Args:
        trained_model: the classifier whose failures are searched.
        version: the dataset version whose held-out samples are searched (its test split by default, else val).
        params: overrides of the defaults in services/params.py (split, max_samples, min_size,
            max_slices_per_class, prediction_weight, true_class_weight, gallery_size, batch_size, device, seed).
        embedding_set: an encoder's ready embeddings of this dataset to cluster; None: the model's own
            penultimate features.
        requested_by: needs the run_gpu_jobs capability (admins); None for system reports.
        enqueue: False creates the job without sending it (the command runs it in-process).
    Raises ApplicationError: invalid_params, no_held_out, empty_split, classes_mismatch, invalid_embeddings (400).
    """
    report = run_create(
        kind=FIND_SLICES_JOB_KIND, requested_by=requested_by, enqueue=enqueue, trained_model=trained_model,
        version=version, params=params, embedding_set=embedding_set,
    )  # fmt: skip
    return cast(SliceReport, report)


def slice_report_prepare(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    params: dict[str, Any] | None = None,
    embedding_set: EmbeddingSet | None = None,
) -> dict[str, Any]:
    """The checks of `slice_report_create`, before any job exists; returns the report's fields (the kit's
    `prepare`)."""
    params = slices_params_validate(params or {})
    params["split"] = slices_split_resolve(version=version, split=params["split"])
    count = evaluation_classes_check(version=version, split=params["split"], classes=trained_model.classes)
    embedding_set = _embedding_set_choose(params["features"], embedding_set, version)
    if embedding_set is not None:
        _embedding_set_check(embedding_set, version)
    return {
        "trained_model": trained_model, "version": version, "split": params["split"], "params": params,
        "embedding_set": embedding_set, "sample_count": min(count, params["max_samples"] or count),
    }  # fmt: skip


def _encoder_rows(embedding_set: EmbeddingSet, sample_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The set's embeddings of `sample_ids` (float32) and the positions of the samples that have one."""
    try:
        arrays = embedding_set_arrays(embedding_set)
    except ApplicationError as error:
        raise JobFailed(error.message)
    except (OSError, ValueError) as error:
        raise JobFailed(f"embedding set {embedding_set.pk} cannot be read: {error}")
    rows = np.searchsorted(arrays.row_ids, sample_ids)
    rows = np.minimum(rows, max(len(arrays.row_ids) - 1, 0))
    found = np.flatnonzero(arrays.row_ids[rows] == sample_ids) if len(arrays.row_ids) else np.zeros(0, dtype=np.int64)
    return np.asarray(arrays.embeddings[rows[found]], dtype=np.float32), found


def _space(report: SliceReport, outputs: ModelOutputs) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The vectors to cluster, the positions they cover, and how they were made."""
    requested = report.params.get("features", "auto")
    if report.embedding_set is None:
        if requested == "embeddings":
            raise JobFailed("the embedding set of this report was deleted: start a new report")
        dim = int(outputs.features.shape[1]) if outputs.features.ndim == 2 else 0
        chosen = "features=model" if requested == "model" else "default"
        source = {"kind": "model", "description": f"penultimate features of {report.trained_model.name} ({dim}-d)",
                  "chosen": chosen}  # fmt: skip
        return outputs.features, np.arange(len(outputs.predictions)), {**source, "missing": 0}
    vectors, positions = _encoder_rows(report.embedding_set, outputs.evaluation_set.sample_ids)
    if positions.size == 0:
        raise JobFailed(
            f"embedding set {report.embedding_set.pk} has no row for any of the {len(outputs.predictions)} samples "
            "searched: embed this version first"
        )
    encoder = report.embedding_set.encoder_name
    source = {
        "kind": "encoder", "description": f"{encoder} embeddings (set {report.embedding_set.pk})",
        "chosen": "the set named" if requested == "auto" else "features=embeddings",
    }  # fmt: skip
    return vectors, positions, {**source, "missing": int(len(outputs.predictions) - positions.size)}


def _context(
    report: SliceReport, outputs: ModelOutputs, vectors: np.ndarray, positions: np.ndarray, ctx: JobContext
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Each searched sample's foreign context among the version's training samples, in the space clustered (the
    model's features: one more pass of the model, over at most CONTEXT_TRAIN_MAX training samples; an embedding
    set: its rows of them), and what it was read from; None (and why) when it is off or cannot be had."""
    p = report.params
    k = int(p.get("context_k", 0))  # reports made before the third round have no context
    if k <= 0:
        return None, {"k": 0, "skipped": "context_k is 0"}
    version, classes = report.version, outputs.evaluation_set.classes
    if not VersionSample.objects.filter(version=version, split=Split.TRAIN).exists():
        return None, {"k": k, "skipped": "the version has no training split"}
    try:
        evaluation_classes_check(version=version, split=Split.TRAIN, classes=classes)
    except ApplicationError as error:
        return None, {"k": k, "skipped": error.message}
    train = model_outputs(
        trained_model=report.trained_model, version=version, split=Split.TRAIN,
        params={**p, "max_samples": CONTEXT_TRAIN_MAX}, ctx=ctx,
    )  # fmt: skip
    train_ids, train_targets = train.evaluation_set.sample_ids, train.evaluation_set.targets
    if report.embedding_set is None:
        train_vectors = train.features
    else:
        train_vectors, found = _encoder_rows(report.embedding_set, train_ids)
        train_ids, train_targets = train_ids[found], train_targets[found]
    context = foreign_context(
        vectors, outputs.evaluation_set.targets[positions], train_vectors, train_targets, num_classes=len(classes),
        k=k, held_out_ids=outputs.evaluation_set.sample_ids[positions], train_ids=train_ids, seed=p["seed"],
    )  # fmt: skip
    mean = float(context.mean()) if context.size else None
    return context, {"k": k, "training_samples": len(train_ids), "mean": mean}


def slice_report_execute(report: SliceReport, ctx: JobContext) -> dict[str, Any]:
    """The `find_slices` job's body: class check, the model's outputs, the discovery, the stored results."""
    from robustness.evaluation.services.runs import json_safe  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    classes_or_fail(version=report.version, split=report.split, classes=report.trained_model.classes)
    report.results = {}  # a retried attempt starts over
    p = report.params
    outputs = model_outputs(
        trained_model=report.trained_model, version=report.version, split=report.split, params=p, ctx=ctx
    )
    vectors, positions, source = _space(report, outputs)
    context, context_source = _context(report, outputs, vectors, positions, ctx)
    classes = outputs.evaluation_set.classes
    settings = SliceSettings(
        min_size=p["min_size"], max_slices_per_class=p["max_slices_per_class"],
        prediction_weight=p["prediction_weight"], true_class_weight=p.get("true_class_weight", 0.0), seed=p["seed"],
        gallery_size=p["gallery_size"], context_k=int(p.get("context_k", 0)),
        context_weight=p.get("context_weight", 0.0),
    )  # fmt: skip
    discovery = slices_discover(
        vectors, outputs.evaluation_set.targets[positions], outputs.predictions[positions], num_classes=len(classes),
        settings=settings, losses=outputs.true_class_losses()[positions], context=context,
        progress=lambda done, total: ctx.progress(done, total + 1, f"clustering class {done}"),
    )  # fmt: skip
    results = {**discovery_results(discovery, outputs, positions, source), "context": context_source}
    report.results = json_safe(results)
    report.finished_at = timezone.now()
    report.save(update_fields=["results", "finished_at"])
    ctx.progress(1, 1, "report stored")
    return {"slice_report": report.pk, **report_headline(report.results)}
