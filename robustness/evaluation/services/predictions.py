"""Per-sample predictions of an evaluation's clean pass, for the sample grid (its prediction and model-error
filters and its sort by confidence): one SamplePrediction row per evaluated sample, written by COPY."""

import numpy as np
from django.db import transaction

from core.bulk_rows import columns_write
from robustness.evaluation.models import EvaluationRun, SamplePrediction
from robustness.evaluation.services.dataset import EvaluationSet


@transaction.atomic
def predictions_write(run: EvaluationRun, evaluation_set: EvaluationSet, probabilities: np.ndarray) -> int:
    """Store the predicted class (index in the model's classes), its probability and whether it equals the
    sample's primary label, for every sample of the clean pass; a retried attempt replaces its rows."""
    SamplePrediction.objects.filter(evaluation_run=run).delete()
    predicted = probabilities.argmax(axis=1)
    count = columns_write(
        SamplePrediction,
        {
            "evaluation_run_id": np.full(predicted.size, run.pk, dtype=np.int64),
            "sample_id": np.asarray(evaluation_set.sample_ids, dtype=np.int64),
            "predicted": predicted.astype(np.int16),
            "confidence": probabilities.max(axis=1).astype(np.float64),
            "correct": predicted == np.asarray(evaluation_set.targets),
        },
    )
    run.prediction_count = count
    run.save(update_fields=["prediction_count"])
    return count


def predictions_delete(run: EvaluationRun) -> None:
    """The run kit's cleanup of a failed or cancelled evaluation: its predictions go with its results."""
    SamplePrediction.objects.filter(evaluation_run=run).delete()
    EvaluationRun.objects.filter(pk=run.pk).update(prediction_count=0)
