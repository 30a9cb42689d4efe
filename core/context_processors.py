from typing import Any

from django.conf import settings

from core.roles import Capability, user_capabilities


def roles(request: Any) -> dict[str, Any]:
    caps = user_capabilities(request.user) if hasattr(request, "user") else frozenset()
    return {"can": {cap.value: cap in caps for cap in Capability}}


def plotly_js(request: Any) -> dict[str, str]:
    """The static path of plotly.js, in a folder named for the plotly package's version (cached for a year)."""
    return {"plotly_js": f"{settings.PLOTLY_STATIC_DIR}/plotly.min.js"}
