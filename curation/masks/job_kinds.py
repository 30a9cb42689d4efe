"""Job kind of the masks app (imported by MasksConfig.ready): thin, it calls one service.

The service is imported when the job runs (`deferred`), so start-up loads neither OpenCV nor torch.
"""

from typing import Any

from jobs.runtime import JobContext, deferred, job_kind

ESTIMATE_MASKS_JOB_KIND = "estimate_masks"  # services repeats it; a test checks they agree

_execute = deferred("curation.masks.services:mask_set_execute")


@job_kind(
    ESTIMATE_MASKS_JOB_KIND,
    queue="gpu",
    capability="curate",
    cleanup=deferred("curation.masks.services:mask_set_cleanup"),
)
def estimate_masks_job(ctx: JobContext) -> dict[str, Any]:
    """Foreground masks of every member of a dataset version by one mask provider, stored per sample."""
    ctx.check_cancelled()
    return _execute(mask_set_id=int(ctx.params["mask_set_id"]), ctx=ctx)
