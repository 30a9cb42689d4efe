"""Submitting cluster and prune jobs, and undoing what a failed, cancelled or lost attempt left."""

from __future__ import annotations

from django.contrib.auth.models import User

from curation.pruning.blobs import job_blobs_delete
from curation.pruning.job_kinds import CLUSTER_JOB_KIND, PRUNE_JOB_KIND
from curation.pruning.models import ClusterRun, PruneRun
from curation.pruning.services.params import ClusterParams, PruneParams
from jobs.models import Job
from jobs.services import job_submit


def cluster_run_submit(*, params: ClusterParams, requested_by: User | None) -> Job:
    """Queue a clustering job for validated `params` (sent to the workers after commit)."""
    return job_submit(kind=CLUSTER_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)


def prune_run_submit(*, params: PruneParams, requested_by: User | None) -> Job:
    """Queue a prune job for validated `params` (sent to the workers after commit)."""
    return job_submit(kind=PRUNE_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)


def pruning_job_cleanup(job: Job) -> None:
    """Remove the runs a job committed (never an applied one) and every blob under the job's prefix.

    Runs are written in one transaction at the end of a job, so there is normally nothing but blobs;
    a worker lost right after that commit leaves a run that the retry would otherwise duplicate.
    """
    PruneRun.objects.filter(job=job, resulting_version__isnull=True).delete()
    cluster_runs = ClusterRun.objects.filter(job=job)
    for cluster_run in cluster_runs:
        if not PruneRun.objects.filter(cluster_run=cluster_run).exists():
            cluster_run.delete()
    job_blobs_delete(job)
