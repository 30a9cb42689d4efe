"""The evaluate job stores its clean pass's per-sample predictions (the grid's prediction filters and confidence
sort): the same classes and probabilities as a direct forward pass; a failed run keeps none."""

import pytest
import torch

from curation.services.ingest import sample_image_open
from jobs.models import JobStatus
from robustness.evaluation.models import SamplePrediction
from robustness.evaluation.services import evaluation_run_create
from robustness.services import load_trained_model
from tests.robustness.evaluation.test_evaluation_job import ALL_SUITES, FAST, run_inline

pytestmark = pytest.mark.django_db


def test_the_clean_pass_stores_each_samples_prediction(eval_version, stored_model, admin_user):
    # given a version of eight members and a model whose class order differs from the dataset's
    version = eval_version({"cat": 4, "dog": 4})
    trained = stored_model(["dog", "cat"])

    # when it is evaluated
    run = run_inline(
        evaluation_run_create(trained_model=trained, version=version, suites=["clean"], params={"device": "cpu"},
                              requested_by=admin_user, enqueue=False)
    )  # fmt: skip

    # then every member has the class and probability of a direct forward pass, and whether it equals the label
    model, classes, preprocessing = load_trained_model(trained)
    members = list(version.members.select_related("sample").order_by("sample_id"))
    pixels = torch.stack([preprocessing.pixels(sample_image_open(m.sample)) for m in members])
    with torch.no_grad():
        probabilities = model(pixels).softmax(1)
    expected = [
        (
            m.sample_id,
            classes[int(p.argmax())],
            pytest.approx(float(p.max()), abs=1e-4),
            classes[int(p.argmax())] == m.label,
        )
        for m, p in zip(members, probabilities, strict=True)
    ]
    stored = SamplePrediction.objects.filter(evaluation_run=run).order_by("sample_id")
    assert [(p.sample_id, classes[p.predicted], p.confidence, p.correct) for p in stored] == expected
    assert run.prediction_count == 8


def test_a_failed_run_keeps_no_predictions(eval_version, stored_model, admin_user, monkeypatch):
    # given a run whose last suite fails after the clean pass stored its predictions
    version = eval_version({"cat": 3, "dog": 3})
    run = evaluation_run_create(trained_model=stored_model(["cat", "dog"], fitted=False), version=version,
                                suites=ALL_SUITES, params=FAST, requested_by=admin_user, enqueue=False)  # fmt: skip

    def broken(*args, **kwargs):
        raise RuntimeError("edit exploded")

    monkeypatch.setattr("robustness.evaluation.services.runs.attribute_results", broken)

    # when it runs
    run = run_inline(run)

    # then its cleanup removed them with its results
    assert run.job.status == JobStatus.FAILED
    assert not SamplePrediction.objects.filter(evaluation_run=run).exists()
    assert run.prediction_count == 0
