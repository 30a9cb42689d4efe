# Over 300 lines: the prune job's summaries (stages, eps sweep, splits, budgets) are stored with the run in one
# transaction.
"""The prune job: run one method of docs/METHODS.md §1-3 on a version and store a decision for every sample.

Methods (curation.ml.pruning, Django-free): semdedup, dbp, ssp (prototypicality), random (the
control) and semdedup+dbp (exact dedup, SemDeDup, then DBP on the survivors; DBP's keep_fraction is
a fraction of SemDeDup's survivors, as in the DBP paper's LAION numbers). Choices made here:
- SemDeDup without eps but with a keep_fraction picks the eps that keeps that fraction (its scores
  do not depend on eps), and records both; the eps sweep is stored for every run with a SemDeDup stage.
  When exact copies make the fraction unreachable (every eps >= 1e-6 removes them), the summary's
  `keep_target` and `warnings` say so instead of silently keeping fewer.
- Only members of the chosen splits (train unless widened) are given to the method; the others are
  kept with reason OUTSIDE_PRUNED_SPLITS (services/splits.py). The run's counts cover every member;
  the summary's `pruned` block the chosen splits, `keep_explanation` says in one line why the kept
  count differs from the fraction asked for, and `warnings` names each class that loses more than half.
- A cluster run of the same version and embedding set can be reused by semdedup and dbp instead of
  a new k-means (its k, seed and assignment are then the run's).
- Nothing changes a version: the run is a proposal, applied later by `prune_run_apply`. The arrays
  are computed first; the PruneRun row and its decisions are then written in one transaction, so a
  failure or a cancel (checked between decision batches) leaves no run behind.
- On the demo dataset the summary reports precision and recall of the duplicate removals.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from curation.embeddings.models import EmbeddingSet
from curation.ml.pruning import (
    DEFAULT_EPS_SWEEP,
    PruneReason,
    PruneResult,
    semdedup_sweep,
)
from curation.models import DatasetVersion
from curation.pruning.blobs import arrays_save, blobs_delete, run_blob_prefix
from curation.pruning.models import ClusterRun, PruneRun
from curation.pruning.services.clustering import member_labels
from curation.pruning.services.decisions import BatchCallback, DecisionArrays, decisions_write
from curation.pruning.services.demo_truth import demo_duplicate_scores, demo_truth_for_version
from curation.pruning.services.embeddings import Progress, version_embeddings_load, version_member_ids
from curation.pruning.services.methods import cluster_assignment_from_run, method_run
from curation.pruning.services.params import PruneParams
from curation.pruning.services.splits import (
    DEFAULT_SPLITS,
    SplitScope,
    class_loss_warnings,
    class_losses,
    cluster_assignment_subset,
    keep_explanation,
    result_over_members,
    split_scope,
)
from jobs.models import Job

SEMDEDUP_METHODS = ("semdedup", "semdedup+dbp")


def semdedup_stage(result: PruneResult) -> PruneResult | None:
    if result.method == "semdedup":
        return result
    return next((stage for stage in result.stages if stage.method == "semdedup"), None)


def eps_sweep(result: PruneResult) -> list[dict[str, Any]]:
    """Kept count and fraction for each eps of the default sweep and the run's own eps."""
    stage = semdedup_stage(result)
    if stage is None:
        return []
    eps_values = sorted({*DEFAULT_EPS_SWEEP, float(stage.params["eps"])})  # type: ignore[arg-type]
    return [dataclasses.asdict(point) for point in semdedup_sweep(stage, eps_values)]


def reason_counts(result: PruneResult) -> dict[str, int]:
    counts = np.bincount(result.reason.astype(np.int64), minlength=len(PruneReason))
    return {PruneReason(int(code)).name.lower(): int(counts[code]) for code in np.flatnonzero(counts)}


def _jsonable(value: Any) -> Any:
    """Stage params as JSON: NumPy scalars to Python, non-finite floats to None, dataclass dicts kept."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _stage_summary(stage: PruneResult) -> dict[str, Any]:
    params = _jsonable(dict(stage.params))
    return {"method": stage.method, "n_candidates": stage.n_candidates, "n_kept": stage.n_kept, "params": params}


def run_summary(result: PruneResult, seconds: dict[str, float]) -> dict[str, Any]:
    """Counts, reasons, stages and timings; `keep_target` and `warnings` when a keep fraction picked eps."""
    stages = result.stages or (result,)
    warnings: list[str] = []
    summary: dict[str, Any] = {
        "n_candidates": result.n_candidates,
        "n_kept": result.n_kept,
        "kept_fraction": round(result.kept_fraction, 6),
        "reasons": reason_counts(result),
        "stages": [_stage_summary(s) for s in stages],
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
        "warnings": warnings,
    }
    stage = semdedup_stage(result)
    target = stage.params.get("keep_target") if stage is not None else None
    if isinstance(target, dict):
        summary["keep_target"] = _jsonable(target)
        if target.get("warning"):
            warnings.append(str(target["warning"]))
    return summary


def split_summary(
    summary: dict[str, Any], result: PruneResult, scope: SplitScope, params: PruneParams
) -> dict[str, Any]:
    """`summary` of the method's result (the pruned splits) with the whole version's counts on top.

    Adds `pruned` (the splits and the method's counts), `outside_splits` ({split: members kept
    untouched}) and `keep_explanation` (one line: fraction asked for, number kept, why they differ).
    """
    outside = scope.outside
    n_outside = sum(outside.values())
    n_total, n_kept = result.n_candidates + n_outside, result.n_kept + n_outside
    pruned = {"splits": list(scope.splits), "n_candidates": result.n_candidates, "n_kept": result.n_kept}
    pruned["kept_fraction"] = summary["kept_fraction"]
    reasons = dict(summary["reasons"])
    if n_outside:
        reasons["outside_pruned_splits"] = n_outside
    explanation = keep_explanation(
        method=params.method,
        keep_fraction=params.keep_fraction,
        scope_counts=(result.n_candidates, result.n_kept),
        outside=outside,
        target=summary.get("keep_target"),
        dbp_candidates=next((s["n_candidates"] for s in summary["stages"] if s["method"] == "dbp"), None),
    )
    return summary | {
        "n_candidates": n_total,
        "n_kept": n_kept,
        "kept_fraction": round(n_kept / max(n_total, 1), 6),
        "reasons": reasons,
        "pruned": pruned,
        "outside_splits": outside,
        "keep_explanation": explanation,
    }


def cluster_budget_arrays(result: PruneResult) -> dict[str, np.ndarray]:
    """Per-cluster sizes and kept counts (from the decisions), and DBP's budget quantities when present."""
    arrays: dict[str, np.ndarray] = {}
    budgets = result.cluster_budgets
    if budgets is not None:
        for field in dataclasses.fields(budgets):
            value = getattr(budgets, field.name)
            if value is not None:
                arrays[field.name] = np.asarray(value)
    elif result.cluster is not None and (result.cluster >= 0).any():
        member = result.cluster >= 0
        k = int(result.cluster.max()) + 1
        arrays["sizes"] = np.bincount(result.cluster[member], minlength=k)
        arrays["budgets"] = np.bincount(result.cluster[member & result.keep], minlength=k)
    return arrays


def prune_run_create(
    *,
    params: PruneParams,
    job: Job | None = None,
    user: User | None = None,
    progress: Progress | None = None,
    on_batch: BatchCallback | None = None,
) -> PruneRun:
    """Compute a prune run for a validated `params` and store it with one decision per sample.

    Args:
        params: from `prune_params_validate` (defaults resolved, embedding set chosen and checked).
        job: the job running this (blob prefix, link); user: who asked.
        progress: (done, total, message) reports while computing; on_batch: (done, total) while writing.
    """
    timer = _Timer()
    version = DatasetVersion.objects.select_related("dataset").get(pk=params.version_id)
    embedding_set = EmbeddingSet.objects.get(pk=params.embedding_set_id) if params.embedding_set_id else None
    cluster_run = ClusterRun.objects.get(pk=params.cluster_run_id) if params.cluster_run_id else None
    if embedding_set is not None:
        loaded = version_embeddings_load(version=version, embedding_set=embedding_set, progress=progress)
        sample_ids, vectors = loaded.sample_ids, loaded.vectors
    else:
        sample_ids, vectors = version_member_ids(version), None
    scope = split_scope(version=version, sample_ids=sample_ids, splits=params.splits or DEFAULT_SPLITS)
    timer.lap("load")
    class_labels = member_labels(version, sample_ids)[0] if params.per_class else None
    clusters = cluster_assignment_from_run(cluster_run, sample_ids) if cluster_run is not None else None
    n = sample_ids.size
    if scope.mask is not None:  # a copy of the pruned rows only when some members are left out
        vectors = vectors[scope.mask] if vectors is not None else None
        class_labels = class_labels[scope.mask] if class_labels is not None else None
        clusters = cluster_assignment_subset(clusters, scope.mask) if clusters is not None else None
        n = int(np.count_nonzero(scope.mask))
    if progress is not None:
        progress(0, 1, f"running {params.method}")
    result = method_run(params, vectors, n, class_labels, clusters)
    del vectors
    timer.lap("method")
    return _prune_run_store(
        params=params,
        version=version,
        embedding_set=embedding_set,
        cluster_run=cluster_run,
        sample_ids=sample_ids,
        result=result,
        scope=scope,
        timer=timer,
        job=job,
        user=user,
        on_batch=on_batch,
    )


def _prune_run_store(
    *,
    params: PruneParams,
    version: DatasetVersion,
    embedding_set: EmbeddingSet | None,
    cluster_run: ClusterRun | None,
    sample_ids: np.ndarray,
    result: PruneResult,
    scope: SplitScope,
    timer: _Timer,
    job: Job | None,
    user: User | None,
    on_batch: BatchCallback | None,
) -> PruneRun:
    stored_params = params.method_params()
    if params.method in SEMDEDUP_METHODS:
        stored_params["eps"] = _used_eps(result, params)
    stored_params.update(version_id=version.pk, embedding_set_id=params.embedding_set_id)
    stored_params["cluster_run_id"] = params.cluster_run_id
    stored_params["splits"] = list(scope.splits)
    summary = split_summary(run_summary(result, timer.seconds), result, scope, params)
    in_splits = result
    if scope.mask is not None:
        result = result_over_members(result, scope.mask)
    if in_splits.n_kept < in_splits.n_candidates:  # one read of the members' labels
        codes, names = member_labels(version, sample_ids)
        losses = class_losses(label_codes=codes, label_names=names, keep=result.keep, in_scope=scope.mask)
        summary["warnings"] += class_loss_warnings(losses)
    truth = demo_truth_for_version(version)
    if truth is not None:
        summary["demo_truth"] = demo_duplicate_scores(
            version=version, truth=truth, sample_ids=sample_ids, keep=result.keep, reason=result.reason
        )
    budget_arrays = cluster_budget_arrays(in_splits)
    budgets_key = f"{run_blob_prefix(job)}/budgets.npz" if budget_arrays else ""
    duplicate_of = np.full(sample_ids.size, -1, dtype=np.int64)
    if result.duplicate_of is not None:
        has = result.duplicate_of >= 0
        duplicate_of[has] = sample_ids[result.duplicate_of[has]]
    cluster = result.cluster if result.cluster is not None else np.full(sample_ids.size, -1, dtype=np.int64)
    decisions = DecisionArrays(sample_ids, result.keep, result.reason, result.score, duplicate_of, cluster)
    try:
        if budgets_key:
            arrays_save(budgets_key, **budget_arrays)
        with transaction.atomic():
            run = PruneRun.objects.create(
                version=version,
                embedding_set=embedding_set,
                cluster_run=cluster_run,
                method=params.method,
                params=_jsonable(stored_params),
                n_candidates=result.n_candidates,
                n_kept=result.n_kept,
                summary=summary,
                sweep=eps_sweep(in_splits),
                budgets_key=budgets_key,
                job=job,
                created_by=user,
            )
            decisions_write(run.pk, decisions, on_batch=on_batch)
            timer.lap("write")
            run.summary["seconds"] = {name: round(value, 3) for name, value in timer.seconds.items()}
            run.save(update_fields=["summary"])
    except BaseException:
        blobs_delete([budgets_key] if budgets_key else [])
        raise
    return run


def _used_eps(result: PruneResult, params: PruneParams) -> float | None:
    stage = semdedup_stage(result)
    return float(stage.params["eps"]) if stage is not None else params.eps  # type: ignore[arg-type]


class _Timer:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.last = clock()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self.clock()
        self.seconds[name] = now - self.last
        self.last = now
