"""Start an evaluation run: check the request, then the run kit creates the run and its `evaluate` job (no torch).

The checks that can fail fast do so before any job exists (the API answers 400): unknown suites
or parameters, a split without labelled samples, a model whose classes cannot cover the
version's labels, a baseline that cannot normalise mCE. The job itself runs in services/runs.py.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from jobs.runs.services import run_create
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.evaluation.services.dataset import evaluation_classes_check, evaluation_split_resolve
from robustness.evaluation.services.groups import group_sets_resolve
from robustness.evaluation.services.masks import mask_source_resolve
from robustness.evaluation.services.params import evaluation_params_validate
from robustness.models import TrainedModel

EVALUATE_JOB_KIND = "evaluate"


def evaluation_run_create(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    suites: list[str],
    params: dict[str, Any] | None = None,
    baseline: EvaluationRun | None = None,
    requested_by: User | None,
    enqueue: bool = True,
) -> EvaluationRun:
    """Check the request, create the run and its `evaluate` job (gpu queue), and send it once committed.

    Args:
        trained_model: the model to evaluate.
        version: the dataset version to evaluate on (its test split by default).
        suites: any of clean, corruptions, adversarial, attributes (clean always runs).
        params: overrides of the defaults in services/params.py (split, severities, corruptions, eps, ...).
        baseline: a finished run on the same dataset with corruption results, to normalise CE and mCE.
        requested_by: needs the run_gpu_jobs capability (admins); None for system runs.
        enqueue: False creates the job without sending it (the command runs it in-process).
    Raises ApplicationError: invalid_suites, invalid_params, classes_mismatch, empty_split,
    invalid_baseline, no_masks (attributes without any masks; 400), invalid_groups (a slice report that is not
    finished or is of another dataset; 400), not_found (an unknown slice report; 404), permission_denied (403).
    """
    run = run_create(
        kind=EVALUATE_JOB_KIND, requested_by=requested_by, enqueue=enqueue, trained_model=trained_model,
        version=version, suites=suites, params=params, baseline=baseline,
    )  # fmt: skip
    return cast(EvaluationRun, run)


def evaluation_run_prepare(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    suites: list[str],
    params: dict[str, Any] | None = None,
    baseline: EvaluationRun | None = None,
) -> dict[str, Any]:
    """The checks of `evaluation_run_create`, before any job exists; returns the run's fields (the kit's `prepare`)."""
    suites, params = evaluation_params_validate(suites=suites, params=params or {}, image_size=trained_model.img_size)
    params["split"] = evaluation_split_resolve(version=version, split=params["split"])
    count = evaluation_classes_check(version=version, split=params["split"], classes=trained_model.classes)
    _baseline_check(baseline, version, suites)
    group_sets_resolve(version=version, params=params)  # an unknown or unfinished report is refused now, not later
    if Suite.ATTRIBUTES in suites:  # the edits need object masks: none at all is an error, not an empty result
        source = mask_source_resolve(
            version=version, split=params["split"], requested=params["masks"], purpose=" (attribute edits need them)"
        )
        params["masks"] = source.provider if source is not None else params["masks"]
    return {
        "trained_model": trained_model, "version": version, "suites": suites, "params": params,
        "baseline": baseline, "split": params["split"], "sample_count": min(count, params["max_samples"] or count),
    }  # fmt: skip


def _baseline_check(baseline: EvaluationRun | None, version: DatasetVersion, suites: list[str]) -> None:
    if baseline is None:
        return
    if Suite.CORRUPTIONS not in suites:
        raise ApplicationError(
            "A baseline normalises corruption errors: add the corruptions suite.", code="invalid_baseline"
        )
    if baseline.version.dataset_id != version.dataset_id:
        raise ApplicationError(
            f"Baseline run {baseline.pk} was evaluated on another dataset; pick a run on {version.dataset.name!r}.",
            code="invalid_baseline",
        )
    if Suite.CORRUPTIONS not in (baseline.results or {}):
        raise ApplicationError(
            f"Baseline run {baseline.pk} has no corruption results (it has not finished, or did not run them).",
            code="invalid_baseline",
        )
