"""Reads of jobs.

Visibility: every user with the `view` capability sees every job (datasets and runs are shared by
the team, and their pages link to the jobs that made them); only the user who requested a job, or
an admin, may cancel it (jobs.services.job_cancel_request). The parameters, log tail and error of
jobs started by admins or by the system (server paths, tracebacks) are shown only to admins and to
the requester: `jobs_as_seen_by` gives everyone else copies with those fields hidden.
"""

import copy
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Q, QuerySet

from core.roles import Capability, Role, user_can
from jobs.models import Job, JobStatus

DETAILS_HIDDEN = "Failed (the details are shown to admins and to whoever started the job)"


def job_list(
    *, user: AbstractBaseUser | AnonymousUser, kind: str | None = None, status: str | None = None
) -> QuerySet[Job]:
    """Jobs `user` may see, newest first, optionally filtered by kind and status."""
    if not user_can(user, Capability.VIEW):
        return Job.objects.none()
    jobs = Job.objects.select_related("requested_by").order_by("-id")
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        jobs = jobs.filter(status=status)
    return jobs


def job_get(*, job_id: int, user: AbstractBaseUser | AnonymousUser) -> Job | None:
    """The job if it exists and `user` may see it, else None."""
    return job_list(user=user).filter(pk=job_id).first()


def job_user_may_cancel(*, job: Job, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` may cancel `job`: they requested it, or they are an admin (`manage`)."""
    if not user.is_authenticated:
        return False
    return job.requested_by_id == user.pk or user_can(user, Capability.MANAGE)


def jobs_as_seen_by(jobs: Iterable[Job], user: AbstractBaseUser | AnonymousUser) -> list[Job]:
    """The jobs as `user` may see them: for a user without `manage`, a job started by an admin or by the
    system (requested_by None: commands, the reaper) comes as an unsaved copy with its params emptied,
    its log tail blanked, only the numbers of its result kept and a failure's error and message replaced
    by DETAILS_HIDDEN. Never save them."""
    jobs = list(jobs)
    if user_can(user, Capability.MANAGE):
        return jobs
    managers = set(
        User.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value)).values_list("pk", flat=True)
    )
    return [
        _details_hidden(job) if job.requested_by_id != user.pk and _started_by_manager(job, managers) else job
        for job in jobs
    ]


def _started_by_manager(job: Job, managers: set[int]) -> bool:
    return job.requested_by_id is None or job.requested_by_id in managers


def _details_hidden(job: Job) -> Job:
    shown = copy.copy(job)
    shown.params, shown.log_tail = {}, ""
    # ids and counts stay (links, totals); text and lists (per-file report lines, storage keys) go
    result = job.result if isinstance(job.result, dict) else {}
    shown.result = {key: value for key, value in result.items() if isinstance(value, int | float)}
    if job.error or job.status == JobStatus.FAILED:
        shown.error = DETAILS_HIDDEN
        shown.message = DETAILS_HIDDEN if job.status == JobStatus.FAILED else job.message
    return shown
