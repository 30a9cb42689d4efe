"""The weights policy applied to requests: encoder and generator names from the pages and the API."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from curation.ml.weights_policy import weights_refusal
from jobs.models import Job
from jobs.runtime import JobFailed


def _refusal(name: str, user: AbstractBaseUser | AnonymousUser) -> str | None:
    return weights_refusal(
        name,
        is_admin=user_can(user, Capability.MANAGE),
        roots=list(settings.WEIGHTS_ROOTS),
        hub_allowed=list(settings.WEIGHTS_HUB_ALLOWED),
    )


def weights_name_check(*, name: str | None, user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Refuse a name whose weights `user` may not make a worker load (curation.ml.weights_policy).

    Args:
        name: an encoder or generator registry name; None or "" is not checked.
        user: who asks; None (the command line, run by someone on the server) is not limited.
    Raises ApplicationError weights_forbidden (400). The message never says whether a path exists.
    """
    if not name or user is None:
        return
    reason = _refusal(name, user)
    if reason:
        raise ApplicationError(reason, code="weights_forbidden")


def weights_job_check(*, job: Job, name: str | None) -> None:
    """The check again in the worker, before any weights are touched, for a job requested by a non-admin
    (created some other way than the submit services, or the rules changed since). Admins' jobs pass: an
    admin's request from the pages and API was checked against the roots at submit, and the command line
    (which runs as an admin) is trusted like the server-path import. Raises JobFailed."""
    if not name or job.requested_by is None or user_can(job.requested_by, Capability.MANAGE):
        return
    reason = _refusal(name, job.requested_by)
    if reason:
        raise JobFailed(reason)
