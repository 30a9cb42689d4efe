"""Job kinds of the failure-slice app (imported by SlicesConfig.ready): thin, they call one service.

The services are imported when a job runs (`deferred`), so start-up does not load torch or FAISS.
"""

from typing import Any

from core.roles import Capability
from explain.slices.models import SliceReport, SliceScore
from jobs.runtime import JobContext, JobFailed, deferred, job_kind

FIND_SLICES_JOB_KIND = "find_slices"  # services.reports repeats it; a test checks they agree
SCORE_SLICES_JOB_KIND = "score_slices"

_execute = deferred("explain.slices.services.reports:slice_report_execute")
_score = deferred("explain.slices.services.scores:slice_score_execute")


@job_kind(
    FIND_SLICES_JOB_KIND,
    queue="gpu",
    capability=Capability.RUN_GPU_JOBS,
    cleanup=deferred("explain.slices.services.reports:slice_job_cleanup"),
)
def find_slices_job(ctx: JobContext) -> dict[str, Any]:
    """Failure slices: cluster a trained model's held-out samples per class and rank groups by accuracy gap."""
    report_id = int(ctx.params["slice_report_id"])
    report = SliceReport.objects.select_related("trained_model", "version__dataset").filter(pk=report_id).first()
    if report is None:
        raise JobFailed(f"failure-slice report {report_id} no longer exists")
    ctx.check_cancelled()
    return _execute(report=report, ctx=ctx)


@job_kind(
    SCORE_SLICES_JOB_KIND,
    queue="gpu",
    capability=Capability.RUN_GPU_JOBS,
    cleanup=deferred("explain.slices.services.scores:slice_score_cleanup"),
)
def score_slices_job(ctx: JobContext) -> dict[str, Any]:
    """Re-score a failure-slice report's slices with another trained model (before / after a fix)."""
    score_id = int(ctx.params["slice_score_id"])
    score = SliceScore.objects.select_related("report__version", "trained_model").filter(pk=score_id).first()
    if score is None:
        raise JobFailed(f"slice score {score_id} no longer exists")
    ctx.check_cancelled()
    return _score(score=score, ctx=ctx)
