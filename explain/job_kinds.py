"""Job kinds of the explain app (imported by ExplainConfig.ready): thin, they call one service.

The service and its cleanup are `deferred`: registering the kind at start-up loads neither torch
nor pytorch-grad-cam; the first job that runs imports them.
"""

from typing import Any

from core.roles import Capability
from jobs.runtime import JobContext, JobFailed, deferred, job_kind

EXPLAIN_JOB_KIND = "explain"  # explain.services.runs.EXPLAIN_JOB_KIND (not imported here: see above)
_explanation_run_execute = deferred("explain.services.runs:explanation_run_execute")


@job_kind(
    EXPLAIN_JOB_KIND,
    queue="gpu",
    capability=Capability.RUN_GPU_JOBS,
    cleanup=deferred("explain.services.runs:explanation_job_cleanup"),
)
def explain_job(ctx: JobContext) -> dict[str, Any]:
    """Grad-CAM maps and scores of a trained model over a dataset version's samples."""
    from explain.models import ExplanationRun

    run_id = int(ctx.params["explanation_run_id"])
    run = ExplanationRun.objects.select_related("trained_model", "version__dataset").filter(pk=run_id).first()
    if run is None:
        raise JobFailed(f"explanation run {run_id} no longer exists")
    ctx.check_cancelled()
    result: dict[str, Any] = _explanation_run_execute(run=run, ctx=ctx)
    return result
