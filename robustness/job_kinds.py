"""Job kinds of the robustness app (imported by RobustnessConfig.ready): thin, they call one service.

Every process imports this module at start-up, so the training service (and torch behind it) is
imported only when a job runs or is cleaned up: both go through `deferred`.
"""

from typing import Any

from core.roles import Capability
from jobs.runtime import JobContext, JobFailed, deferred, job_kind
from robustness.models import TrainingRun

TRAIN_JOB_KIND = "train"  # robustness.services.training.TRAIN_JOB_KIND, which imports torch
_training_run_execute = deferred("robustness.services.training:training_run_execute")
_training_job_cleanup = deferred("robustness.services.training:training_job_cleanup")


@job_kind(TRAIN_JOB_KIND, queue="gpu", capability=Capability.RUN_GPU_JOBS, cleanup=_training_job_cleanup)
def training_job(ctx: JobContext) -> dict[str, Any]:
    """Train a classifier on a dataset version (resumes from the run's last checkpoint)."""
    run_id = int(ctx.params["run_id"])
    run = TrainingRun.objects.select_related("version__dataset").filter(pk=run_id).first()
    if run is None:
        raise JobFailed(f"training run {run_id} no longer exists")
    ctx.check_cancelled()
    result: dict[str, Any] = _training_run_execute(run=run, ctx=ctx)
    return result
