"""Rate limits on starting expensive jobs, counted from the Job rows a user created.

The API's request throttles (core.throttles) count requests in a per-process cache and only see API
calls; this check lives in the submit services that pages, API and commands share, so every path to
an import or export is limited alike. It counts jobs, the durable record of what was started, with
the same configured rates (REST_FRAMEWORK DEFAULT_THROTTLE_RATES: WINNOW_THROTTLE_IMPORTS / _EXPORTS),
and locks the user's row so that two requests at once cannot both take the last slot.
"""

import math
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.api_errors import ApplicationError
from jobs.models import Job

RATE_PERIODS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """`"30/hour"` -> (30, 3600): DRF's rate format (the period's first letter counts)."""
    count, _, period = rate.partition("/")
    return int(count), RATE_PERIODS_S[period.strip()[0]]


def job_start_rate_check(*, user: User | None, scope: str, kinds: tuple[str, ...]) -> None:
    """Refuse when `user` started as many `kinds` jobs within the window as the `scope` rate allows.

    Args:
        user: who asks; None (the system, the command line) is not limited.
        scope: a key of DEFAULT_THROTTLE_RATES ("imports", "exports"); no rate set: no limit.
        kinds: the job kinds that count against it.
    Call it inside the transaction that creates the job (it locks the user's row until then).
    Raises ApplicationError throttled (429), details {"retry_after": seconds, "rate": the rate}.
    """
    rates = cast(dict[str, str | None], settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}))
    rate = rates.get(scope)
    if user is None or not user.pk or not rate:
        return
    allowed, period_s = rate_parse(rate)
    now = timezone.now()
    if transaction.get_connection().in_atomic_block:
        User.objects.select_for_update().filter(pk=user.pk).first()
    started = Job.objects.filter(requested_by=user, kind__in=kinds, created_at__gt=now - timedelta(seconds=period_s))
    times = list(started.order_by("-created_at").values_list("created_at", flat=True)[:allowed])
    if len(times) < allowed:
        return
    retry_after = max(math.ceil((times[-1] + timedelta(seconds=period_s) - now).total_seconds()), 1)
    raise ApplicationError(
        f"Too many {scope} started: the limit is {rate}. Try again in {retry_after} s.",
        code="throttled",
        status_code=429,
        details={"retry_after": retry_after, "rate": rate},
    )
