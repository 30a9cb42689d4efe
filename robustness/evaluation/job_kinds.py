"""Job kinds of the evaluation app (imported by EvaluationConfig.ready): thin, they call one service.

Every process imports this module at start-up, so the evaluation services (and torch behind them)
are imported only when a job runs or is cleaned up: both go through `deferred`.
"""

from typing import Any

from core.roles import Capability
from jobs.runtime import JobContext, JobFailed, deferred, job_kind
from robustness.evaluation.models import EvaluationRun

EVALUATE_JOB_KIND = "evaluate"  # robustness.evaluation.services.EVALUATE_JOB_KIND
_evaluation_run_execute = deferred("robustness.evaluation.services.runs:evaluation_run_execute")
_evaluation_job_cleanup = deferred("robustness.evaluation.services.runs:evaluation_job_cleanup")


@job_kind(EVALUATE_JOB_KIND, queue="gpu", capability=Capability.RUN_GPU_JOBS, cleanup=_evaluation_job_cleanup)
def evaluate_job(ctx: JobContext) -> dict[str, Any]:
    """Evaluate a trained model on a dataset version: clean, corruptions, adversarial, attribute edits."""
    run_id = int(ctx.params["evaluation_run_id"])
    run = EvaluationRun.objects.select_related("trained_model", "version__dataset").filter(pk=run_id).first()
    if run is None:
        raise JobFailed(f"evaluation run {run_id} no longer exists")
    ctx.check_cancelled()
    result: dict[str, Any] = _evaluation_run_execute(run=run, ctx=ctx)
    return result
