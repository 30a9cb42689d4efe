"""Job kinds of the spurious-feature app (imported by SpuriousConfig.ready): thin, they call one service.

The service is imported when a job runs (`deferred`), so start-up does not load torch.
"""

from typing import Any

from core.roles import Capability
from explain.spurious.models import SpuriousReport
from jobs.runtime import JobContext, JobFailed, deferred, job_kind

FIND_SPURIOUS_JOB_KIND = "find_spurious"  # services.reports repeats it; a test checks they agree

_execute = deferred("explain.spurious.services.reports:spurious_report_execute")


@job_kind(
    FIND_SPURIOUS_JOB_KIND,
    queue="gpu",
    capability=Capability.RUN_GPU_JOBS,
    cleanup=deferred("explain.spurious.services.reports:spurious_job_cleanup"),
)
def find_spurious_job(ctx: JobContext) -> dict[str, Any]:
    """Spurious-feature report: the counterfactual flip test of a trained model on a dataset version."""
    report_id = int(ctx.params["spurious_report_id"])
    report = SpuriousReport.objects.select_related("trained_model", "version__dataset").filter(pk=report_id).first()
    if report is None:
        raise JobFailed(f"spurious-feature report {report_id} no longer exists")
    ctx.check_cancelled()
    return _execute(report=report, ctx=ctx)
