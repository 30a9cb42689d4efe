"""Job kinds of clusters and pruning: thin wrappers that validate the params again and call one service.

Every process imports this module at start-up (AppConfig.ready), so the services (and FAISS behind
them) are imported only when a job runs: the functions and the cleanup go through `deferred`.
"""

from typing import Any

from jobs.runtime import JobContext, JobFailed, deferred, job_kind

CLUSTER_JOB_KIND = "cluster"
PRUNE_JOB_KIND = "prune"


def cluster_job(ctx: JobContext) -> dict[str, Any]:
    """Spherical k-means of a version's embeddings, with per-cluster complexity."""
    from core.api_errors import ApplicationError  # noqa: PLC0415 - the services (torch/FAISS) loaded when the job runs, not at start-up
    from curation.pruning.services.clustering import cluster_run_create  # noqa: PLC0415 - the services (torch/FAISS) loaded when the job runs, not at start-up
    from curation.pruning.services.params import cluster_params_validate  # noqa: PLC0415 - the services (torch/FAISS) loaded when the job runs, not at start-up

    try:
        params = cluster_params_validate(**ctx.params)
        run = cluster_run_create(params=params, job=ctx.job, user=ctx.job.requested_by, progress=ctx.progress)
    except (ApplicationError, TypeError) as exc:
        raise JobFailed(getattr(exc, "message", str(exc)))
    return {"cluster_run": run.pk, "version": run.version_id, "n_clusters": run.n_clusters, "n_samples": run.n_samples}


def prune_job(ctx: JobContext) -> dict[str, Any]:
    """Propose a pruning of a version: a decision, a reason and a score for every sample."""
    from core.api_errors import ApplicationError  # noqa: PLC0415 - the services (torch/FAISS) loaded when the job runs, not at start-up
    from curation.pruning.services.params import prune_params_validate  # noqa: PLC0415 - the services (torch/FAISS) loaded when the job runs, not at start-up
    from curation.pruning.services.pruning import prune_run_create  # noqa: PLC0415 - the services (torch/FAISS) loaded when the job runs, not at start-up

    try:
        params = prune_params_validate(**ctx.params)
        run = prune_run_create(
            params=params,
            job=ctx.job,
            user=ctx.job.requested_by,
            progress=ctx.progress,
            on_batch=lambda done, total: ctx.check_cancelled(),
        )
    except (ApplicationError, TypeError) as exc:
        raise JobFailed(getattr(exc, "message", str(exc)))
    return {
        "prune_run": run.pk,
        "version": run.version_id,
        "method": run.method,
        "n_candidates": run.n_candidates,
        "n_kept": run.n_kept,
        "n_removed": run.n_removed,
        "splits": run.params.get("splits"),
        "keep_explanation": run.summary.get("keep_explanation"),
        "warnings": run.summary.get("warnings", []),
        **({"keep_target": run.summary["keep_target"]} if "keep_target" in run.summary else {}),
    }


_cleanup = deferred("curation.pruning.services.jobs:pruning_job_cleanup")
job_kind(CLUSTER_JOB_KIND, queue="default", capability="curate", cleanup=_cleanup)(cluster_job)
job_kind(PRUNE_JOB_KIND, queue="default", capability="curate", cleanup=_cleanup)(prune_job)
