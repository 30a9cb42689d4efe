"""Rows the job-result and loop tests need: a trained model (without training one) and finished jobs."""

from django.utils import timezone

from curation.models import DatasetVersion
from jobs.models import Job, JobStatus
from robustness.models import TrainedModel, TrainingRun
from tests.factories import JobFactory


def finished_job(kind: str, result: dict, user) -> Job:
    return JobFactory(
        kind=kind,
        requested_by=user,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        message="Done",
        result=result,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )


def trained_model_row(version: DatasetVersion, user) -> TrainedModel:
    """A TrainedModel row (and its run and job) as a finished training run leaves them; no checkpoint file."""
    job = finished_job("train", {}, user)
    run = TrainingRun.objects.create(
        job=job, version=version, arch="small-cnn", seed=0, device="cpu", code_version="test",
        hyperparameters={"epochs": 2}, classes=["cat", "dog"], best_epoch=2,
    )  # fmt: skip
    model = TrainedModel.objects.create(
        name=f"small-cnn on v{version.number}", arch="small-cnn", classes=["cat", "dog"], img_size=64,
        checkpoint_best_key="models/none/best.pt", checkpoint_last_key="models/none/last.pt",
        metrics={"val_accuracy": 0.875}, trained_on=version, run=run,
    )  # fmt: skip
    Job.objects.filter(pk=job.pk).update(
        result={"run": run.pk, "trained_model": model.pk, "epochs": 2, "best_epoch": 2, "best_val_accuracy": 0.875}
    )
    return model
