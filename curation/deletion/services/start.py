"""Deleting a dataset, a version or a run, as a job (the `delete` kind): the request.

A request (`dataset_delete_start`, `version_delete_start`, `run_delete_start`) checks what forbids the
deletion (DeletionPlan.blockers: rows that depend on the target, rows of other datasets, jobs still
running on it), marks a dataset or version `deleting` (lists hide it), writes the audit row (Deletion:
who, what, when) and submits the job. Asking again while that job is queued or running returns it; after
it failed or was cancelled, a new request starts a new job that finishes the work.

RUN_KINDS names the runs that can be deleted on their own; job.py is the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.apps import apps
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from curation.deletion.models import Deletion
from curation.deletion.plan import Blocker, DeletionPlan, Scope
from curation.models import Dataset, DatasetVersion
from jobs.models import Job, JobStatus
from jobs.services import job_submit

logger = logging.getLogger("winnow.audit")

DELETE_JOB_KIND = "delete"
# Runs that can be deleted on their own, by the name the API and the command line use. Deleting one
# takes its CASCADE children (a prune run's decisions, an embedding set's chunks and duplicate runs);
# rows that PROTECT it (a prune run made from an embedding set) forbid it. `run_kind_register` adds more.
RUN_KINDS: dict[str, str] = {
    "embedding_set": "embeddings.EmbeddingSet",
    "embedding_map": "embeddings.EmbeddingMap",
    "duplicate_run": "embeddings.DuplicateRun",
    "cluster_run": "pruning.ClusterRun",
    "prune_run": "pruning.PruneRun",
    "proposal_run": "review.ProposalRun",
    "mask_set": "masks.MaskSet",
    "export": "exports.Export",
    "training_run": "robustness.TrainingRun",
    "trained_model": "robustness.TrainedModel",
    "evaluation_run": "evaluation.EvaluationRun",
    "explanation_run": "explain.ExplanationRun",
    "spurious_report": "spurious.SpuriousReport",
    "slice_report": "slices.SliceReport",
    "model_report": "reports.ModelReport",  # the generic reports of every kind (robustness.reports)
}
TARGETS: dict[str, tuple[str, Scope]] = {
    "dataset": ("curation.Dataset", "dataset"),
    "version": ("curation.DatasetVersion", "strict"),
}


def run_kind_register(name: str, model_label: str) -> None:
    """Make runs of `model_label` deletable as `DELETE /api/runs/<name>/<id>/` and `delete_run <name> <id>`."""
    RUN_KINDS[name] = model_label


def target_model(target: str) -> tuple[type[Model], Scope]:
    """The model and plan scope of a target name ("dataset", "version" or a run kind); KeyError if unknown."""
    if target in TARGETS:
        label, scope = TARGETS[target]
        return apps.get_model(label), scope
    return apps.get_model(RUN_KINDS[target]), "strict"


# --- requesting a deletion ----------------------------------------------------------------------------


def dataset_delete_start(
    *, dataset: Dataset, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Delete `dataset` with everything in it (versions, samples, runs, reports, models, files) as a job.

    Args:
        dataset: the dataset to delete.
        requested_by: who asks (needs the curate capability); None for the system.
        create_job: `job_submit` (sent to the workers on commit) or `job_create` (run inline by a command).
    Returns the audit row, whose `job` runs the deletion (an unfinished one already asked for is returned).
    Raises ApplicationError: permission_denied (403), deletion_blocked (409: rows of another dataset use
        something in it, or a job is still running on it; `details.blockers` lists them).
    """
    return deletion_start(target="dataset", target_id=dataset.pk, requested_by=requested_by, create_job=create_job)


def version_delete_start(
    *, version: DatasetVersion, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Delete `version`: its members, exports, embedding sets and masks, and the samples only it held.

    Refused (409 deletion_blocked, `details.blockers`) while child versions, runs, reports or models
    depend on it; otherwise as `dataset_delete_start`.
    """
    return deletion_start(target="version", target_id=version.pk, requested_by=requested_by, create_job=create_job)


def run_delete_start(
    *, kind: str, run_id: int, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Delete one run of `kind` (a key of RUN_KINDS) with its own rows and files.

    Raises ApplicationError: unknown_run_kind (400), not_found (404), deletion_blocked (409), permission_denied.
    """
    if kind not in RUN_KINDS:
        raise ApplicationError(
            f"Unknown run kind '{kind}'; use one of: {', '.join(sorted(RUN_KINDS))}.",
            code="unknown_run_kind",
            details={"allowed": sorted(RUN_KINDS)},
        )
    return deletion_start(target=kind, target_id=run_id, requested_by=requested_by, create_job=create_job)


def deletion_start(
    *, target: str, target_id: int, requested_by: User | None, create_job: Callable[..., Job] = job_submit
) -> Deletion:
    """Check, mark, audit and submit the deletion of `target` row `target_id` (see dataset_delete_start)."""
    if requested_by is not None and not user_can(requested_by, Capability.CURATE):
        raise ApplicationError("Your role does not allow deleting.", code="permission_denied", status_code=403)
    model, scope = target_model(target)
    with transaction.atomic():
        row = model._base_manager.select_for_update().filter(pk=target_id).first()  # one request at a time
        if row is None:
            raise ApplicationError(
                f"{model._meta.verbose_name} {target_id} does not exist.", code="not_found", status_code=404
            )
        unfinished = (JobStatus.QUEUED, JobStatus.RUNNING)
        active = Deletion.objects.filter(target=target, target_id=target_id, job__status__in=unfinished).first()
        if active is not None:
            return active
        blockers = DeletionPlan(model, [target_id], scope).blockers(per_sample=False)
        if blockers:
            raise blocked_error(model, row, blockers)
        if has_deleting_flag(model):
            model._base_manager.filter(pk=target_id).update(deleting=True)
        deletion = Deletion.objects.create(
            target=target,
            target_id=target_id,
            target_name=str(row)[:500],
            requested_by=requested_by,
            requested_by_name=requested_by.get_username() if requested_by is not None else "",
        )
        deletion.job = create_job(kind=DELETE_JOB_KIND, params={"deletion": deletion.pk}, requested_by=requested_by)
        deletion.save(update_fields=["job"])
    logger.info(
        "deletion %s: %s asked to delete %s %s (%s), job %s",
        deletion.pk,
        deletion.requested_by_name or "the system",
        target,
        target_id,
        deletion.target_name,
        deletion.job_id,
    )
    return deletion


def has_deleting_flag(model: type[Model]) -> bool:
    return any(field.name == "deleting" for field in model._meta.concrete_fields)


def blocked_error(model: type[Model], row: Model, blockers: list[Blocker]) -> ApplicationError:
    what = f"{model._meta.verbose_name} {row.pk} ({row})"
    return ApplicationError(
        f"Cannot delete {what}: " + "; ".join(blocker.sentence() for blocker in blockers) + ".",
        code="deletion_blocked",
        status_code=409,
        details={"blockers": [blocker.as_dict() for blocker in blockers]},
    )
