"""The weights policy applied to requests: encoder and generator names from the pages and the API."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from curation.ml.weights_policy import weights_refusal


def weights_name_check(*, name: str | None, user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Refuse a name whose weights `user` may not make a worker load (curation.ml.weights_policy).

    Args:
        name: an encoder or generator registry name; None or "" is not checked.
        user: who asks; None (the command line, run by someone on the server) is not limited.
    Raises ApplicationError weights_forbidden (400). The message never says whether a path exists.
    """
    if not name or user is None:
        return
    reason = weights_refusal(
        name,
        is_admin=user_can(user, Capability.MANAGE),
        roots=list(settings.WEIGHTS_ROOTS),
        hub_allowed=list(settings.WEIGHTS_HUB_ALLOWED),
    )
    if reason:
        raise ApplicationError(reason, code="weights_forbidden")
