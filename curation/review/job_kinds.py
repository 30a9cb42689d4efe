"""Job kinds of the review app: a thin wrapper that checks the params again and calls one service."""

from typing import Any

from core.api_errors import ApplicationError
from curation.review.services.proposal_params import proposal_params_validate
from curation.review.services.proposals import proposal_run_create
from jobs.runtime import JobContext, JobFailed, job_kind


# The kind name is proposals.PROPOSALS_JOB_KIND; the services (scikit-learn, cleanlab) are imported when a
# job runs, not when every process registers its job kinds at start-up.
@job_kind("label_proposals", queue="default", capability="curate")
def label_proposals_job(ctx: JobContext) -> dict[str, Any]:
    """Propose labels for a version's samples from one source (confident learning, model top-k, CLIP, clusters)."""
    try:
        params = proposal_params_validate(**ctx.params)
        run = proposal_run_create(params=params, job=ctx.job, user=ctx.job.requested_by, progress=ctx.progress)
    except (ApplicationError, TypeError) as exc:
        raise JobFailed(getattr(exc, "message", str(exc)))
    return {
        "proposal_run": run.pk,
        "version": run.version_id,
        "source": run.source,
        "proposals": run.proposal_count,
        "flagged_samples": run.flagged_count,
        "label_issues": run.summary.get("label_issues"),
        "shift_flags": run.summary.get("shift_flags"),
        "instances": run.summary.get("instances"),
    }
