"""Job kinds of the robustness app (imported by RobustnessConfig.ready): thin, they call one service."""

from typing import Any

from core.roles import Capability
from jobs.runtime import JobContext, JobFailed, job_kind
from robustness.models import TrainingRun
from robustness.services.training import TRAIN_JOB_KIND, training_job_cleanup, training_run_execute


@job_kind(TRAIN_JOB_KIND, queue="gpu", capability=Capability.RUN_GPU_JOBS, cleanup=training_job_cleanup)
def training_job(ctx: JobContext) -> dict[str, Any]:
    """Train a classifier on a dataset version (resumes from the run's last checkpoint)."""
    run_id = int(ctx.params["run_id"])
    run = TrainingRun.objects.select_related("version__dataset").filter(pk=run_id).first()
    if run is None:
        raise JobFailed(f"training run {run_id} no longer exists")
    ctx.check_cancelled()
    return training_run_execute(run=run, ctx=ctx)
