"""Re-scoring a failure-slice report with another trained model: the same held-out samples, the same slices,
that model's accuracy on each (with Wilson intervals) beside the report's. This is how the loop closes:
slice -> counter-examples -> retrain -> the slice's accuracy before and after.

The other model must predict the report version's labels (`classes_mismatch`); the report must have its
results (`report_not_ready`). The held-out set is decoded with the report's split, subset size and seed,
so both models are measured on the same samples.
"""

from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.api_errors import ApplicationError
from explain.slices.ml.discovery import slice_accuracy
from explain.slices.models import SliceReport, SliceScore
from explain.slices.services.inference import model_outputs
from jobs.models import Job
from jobs.runtime import JobContext
from jobs.services import job_create, job_enqueue
from robustness.evaluation.services.dataset import evaluation_classes_check
from robustness.models import TrainedModel

SCORE_SLICES_JOB_KIND = "score_slices"


def slice_score_create(
    *, report: SliceReport, trained_model: TrainedModel, requested_by: User | None, enqueue: bool = True
) -> SliceScore:
    """Create the score row and its `score_slices` job (gpu queue), sent once committed.

    Raises ApplicationError: report_not_ready (409), classes_mismatch (400).
    """
    if not (report.results or {}).get("slices") and report.finished_at is None:
        raise ApplicationError(
            f"Failure-slice report {report.pk} has no results yet ({report.status}): nothing to re-score.",
            code="report_not_ready", status_code=409,
        )  # fmt: skip
    evaluation_classes_check(version=report.version, split=report.split, classes=trained_model.classes)
    with transaction.atomic():
        job = job_create(kind=SCORE_SLICES_JOB_KIND, params={}, requested_by=requested_by)
        score = SliceScore.objects.create(
            report=report, trained_model=trained_model, job=job, requested_by=requested_by
        )
        job.params = {"slice_score_id": score.pk}
        job.save(update_fields=["params"])
        if enqueue:
            job_enqueue(job)
    return score


def slice_scores_compute(
    results: dict[str, Any], sample_ids: np.ndarray, targets: np.ndarray, predictions: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """Per class and per slice of a report's `results`: accuracy of `predictions` with its Wilson interval."""
    correct = predictions == targets
    position = {int(s): i for i, s in enumerate(sample_ids)}
    by_class = {
        name: slice_accuracy(np.flatnonzero(targets == c), correct)
        for c, name in enumerate(classes)
        if (targets == c).any()
    }
    slices = {}
    for entry in results.get("slices") or []:
        members = np.array([position[s] for s in entry["sample_ids"] if s in position], dtype=np.int64)
        slices[str(entry["number"])] = {
            **slice_accuracy(members, correct),
            "missing": len(entry["sample_ids"]) - members.size,
        }
    accuracy = float(correct.mean()) if correct.size else None
    return {"samples": int(correct.size), "accuracy": accuracy, "class_accuracy": by_class, "slices": slices}


def slice_score_execute(*, score: SliceScore, ctx: JobContext) -> dict[str, Any]:
    """The `score_slices` job's body."""
    from robustness.evaluation.services.runs import json_safe  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    report = score.report
    score.results = {}
    outputs = model_outputs(
        trained_model=score.trained_model, version=report.version, split=report.split, params=report.params, ctx=ctx
    )
    evaluation_set = outputs.evaluation_set
    results = slice_scores_compute(
        report.results, evaluation_set.sample_ids, evaluation_set.targets, outputs.predictions,
        evaluation_set.classes,
    )  # fmt: skip
    score.results = json_safe(results)
    score.finished_at = timezone.now()
    score.save(update_fields=["results", "finished_at"])
    ctx.progress(1, 1, "scores stored")
    return {"slice_score": score.pk, "report": report.pk, "accuracy": results["accuracy"]}


def slice_score_cleanup(job: Job) -> None:
    SliceScore.objects.filter(job=job).update(results={}, finished_at=None)
