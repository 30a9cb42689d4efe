"""Job kinds of the synthetic app (imported by SyntheticConfig.ready): thin, they call one service.

Generation runs on the gpu queue; the service (and torch, diffusers behind it) is imported only when
a job runs, through `deferred`, so registering the kind at start-up loads nothing heavy.
"""

from typing import Any

from core.api_errors import ApplicationError
from curation.synthetic.models import SyntheticBatch
from jobs.runtime import JobContext, JobFailed, deferred, job_kind

GENERATE_JOB_KIND = "synthetic_generate"


def synthetic_generate_job(ctx: JobContext) -> dict[str, Any]:
    """Generate a synthetic batch's planned images (diffusers or compositing) and flag them."""
    from curation.synthetic.services.flags import synthetic_batch_flag, synthetic_batch_flag_clip  # noqa: PLC0415 - torch: loaded on first use, not at start-up
    from curation.synthetic.services.generation import synthetic_batch_generate  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    batch_id = int(ctx.params.get("batch_id") or 0)
    batch = SyntheticBatch.objects.select_related("version__dataset").filter(pk=batch_id).first()
    if batch is None:
        raise JobFailed(f"synthetic batch {batch_id} does not exist")
    if batch.applied_version_id is not None:
        raise JobFailed(f"synthetic batch {batch.pk} is already applied")
    counts = synthetic_batch_generate(batch=batch, job=ctx.job, progress=ctx.progress, log=ctx.log)
    result: dict[str, Any] = {"batch": batch.pk, "version": batch.version_id, **counts}
    summary = None
    try:
        if batch.params.get("flag_model_id"):
            summary = synthetic_batch_flag(batch=batch, trained_model_id=batch.params["flag_model_id"])
        elif batch.params.get("flag_encoder"):
            summary = synthetic_batch_flag_clip(batch=batch, encoder_name=batch.params["flag_encoder"])
    except (ApplicationError, RuntimeError, ValueError, FileNotFoundError) as error:
        # Flags only help the review: the images stay, the reason is shown with the job's result.
        result["flags_error"] = getattr(error, "message", None) or str(error)
        ctx.log(f"agreement check skipped: {result['flags_error']}")
    if summary is not None:
        result["flagged"] = summary["flagged"]
        ctx.log(f"agreement check ({summary['checker']}): {summary['flagged']} of {summary['checked']} flagged")
    return result


job_kind(
    GENERATE_JOB_KIND,
    queue="gpu",
    capability="curate",
    cleanup=deferred("curation.synthetic.services.generation:synthetic_job_cleanup"),
)(synthetic_generate_job)
