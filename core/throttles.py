"""Rate limits of expensive API operations (imports, exports), per user and so per API token.

DRF's ScopedRateThrottle copies DEFAULT_THROTTLE_RATES when its module is imported; this one reads
them on each request, so a changed setting (an environment override, a test) takes effect.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class ExpensiveOperationThrottle(ScopedRateThrottle):
    """A view sets `throttle_scope` ("imports", "exports"); the N+1th request in the window gets 429."""

    def get_rate(self) -> str | None:
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return super().get_rate()
