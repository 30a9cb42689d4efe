"""Reads of jobs.

Visibility: every user with the `view` capability sees every job (datasets and runs are shared by
the team, and their pages link to the jobs that made them); only the user who requested a job, or
an admin, may cancel it (jobs.services.job_cancel_request).
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.roles import Capability, user_can
from jobs.models import Job


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
