from typing import Any

from core.roles import Capability, user_capabilities


def roles(request: Any) -> dict[str, Any]:
    caps = user_capabilities(request.user) if hasattr(request, "user") else frozenset()
    return {"can": {cap.value: cap in caps for cap in Capability}}
