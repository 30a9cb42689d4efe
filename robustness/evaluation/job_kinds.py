"""Job kinds of the evaluation app (imported by EvaluationConfig.ready): thin, they call one service."""

from typing import Any

from core.roles import Capability
from jobs.runtime import JobContext, JobFailed, job_kind
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.services import EVALUATE_JOB_KIND, evaluation_job_cleanup, evaluation_run_execute


@job_kind(EVALUATE_JOB_KIND, queue="gpu", capability=Capability.RUN_GPU_JOBS, cleanup=evaluation_job_cleanup)
def evaluate_job(ctx: JobContext) -> dict[str, Any]:
    """Evaluate a trained model on a dataset version: clean, corruptions, adversarial, attribute edits."""
    run_id = int(ctx.params["evaluation_run_id"])
    run = EvaluationRun.objects.select_related("trained_model", "version__dataset").filter(pk=run_id).first()
    if run is None:
        raise JobFailed(f"evaluation run {run_id} no longer exists")
    ctx.check_cancelled()
    return evaluation_run_execute(run=run, ctx=ctx)
