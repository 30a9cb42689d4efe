"""Job kinds of the failure-slice app (imported by SlicesConfig.ready): the `find_slices` run kind of the run kit,
and `score_slices`, which re-scores a report with another model.

The services are imported when a job runs (`deferred`), so start-up does not load torch or FAISS.
"""

from typing import Any

from core.roles import Capability
from explain.slices.models import SliceReport, SliceScore
from explain.slices.params import SliceParams
from jobs.runs.kinds import RunKind, run_kind_register
from jobs.runtime import JobContext, JobFailed, deferred, job_kind

FIND_SLICES_JOB_KIND = "find_slices"  # services.reports repeats it; a test checks they agree
SCORE_SLICES_JOB_KIND = "score_slices"

_score = deferred("explain.slices.services.scores:slice_score_execute")


SLICES = run_kind_register(
    RunKind(
        name=FIND_SLICES_JOB_KIND,
        model=SliceReport,
        params=SliceParams,
        prepare="explain.slices.services.reports:slice_report_prepare",
        execute="explain.slices.services.reports:slice_report_execute",
        job_param="slice_report_id",
        noun="failure-slice report",
        description="Failure slices: cluster a trained model's held-out samples per class and rank groups by "
        "accuracy gap.",
        label="Failure slices",
        slug="slices",
        report_url_name="frontend:slice_report",
        report_template="frontend/slices/slice_report.html",
    )
)


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
