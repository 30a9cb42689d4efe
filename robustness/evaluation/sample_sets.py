"""The sample list's `prediction_run` filters (`predicted` class, `model_error`) and its sort by prediction
confidence (`sort=confidence` with `sort_run`), over an evaluation's stored per-sample predictions; both
registered in EvaluationConfig.ready."""

from typing import Any

from django.db.models import F, QuerySet

from curation.apis.sample_sets import sample_set_invalid
from curation.models import DatasetVersion
from curation.sample_sorts import RunSortKind, sort_run_invalid
from robustness.evaluation.models import EvaluationRun, SamplePrediction


def _run_with_predictions(version: DatasetVersion, run_id: int) -> EvaluationRun | None:
    run = EvaluationRun.objects.select_related("trained_model").filter(pk=run_id, version=version).first()
    return run if run is not None and run.prediction_count else None


def prediction_sample_set(
    version: DatasetVersion, run_id: int, predicted: str | None, model_error: bool | None
) -> QuerySet[Any]:
    """The samples an evaluation of the version predicted as class `predicted` (None: any) and, with
    `model_error`, whose prediction differs from (True) or equals (False) their primary label."""
    run = _run_with_predictions(version, run_id)
    if run is None:
        message = f"evaluation run {run_id} of this version has no stored predictions"
        raise sample_set_invalid("prediction_run", message)
    rows = SamplePrediction.objects.filter(evaluation_run=run)
    if predicted is not None:
        classes = list(run.trained_model.classes)
        if predicted not in classes:
            message = f"unknown predicted class '{predicted}' (allowed: {', '.join(classes)})"
            raise sample_set_invalid("predicted", message)
        rows = rows.filter(predicted=classes.index(predicted))
    if model_error is not None:
        rows = rows.filter(correct=not model_error)
    return rows.values("sample_id")


def confidence_rows(version: DatasetVersion, run_id: int) -> tuple[QuerySet[Any], int]:
    """An evaluation's samples by the probability of their predicted class (the grid's sort)."""
    run = _run_with_predictions(version, run_id)
    if run is None:
        message = f"evaluation run {run_id} of this version has no stored predictions"
        raise sort_run_invalid(message, sort_run=run_id)
    return SamplePrediction.objects.filter(evaluation_run=run).annotate(
        sort_value=F("confidence")
    ), run.prediction_count


CONFIDENCE = RunSortKind(
    key="confidence", title="Prediction confidence", run_noun="evaluation run", rows=confidence_rows
)
