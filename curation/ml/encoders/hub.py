"""Hugging Face hub cache look-ups that never touch the network, and a bounded reachability probe.

open_clip's own download path retries for ~40 s when the hub is unreachable; checking the cache and
probing the endpoint first lets a job fail within seconds with instructions instead.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

_TRUTHY = {"1", "on", "yes", "true"}


def hub_offline() -> bool:
    """HF_HUB_OFFLINE read now (huggingface_hub reads it once, at import)."""
    from huggingface_hub import constants  # noqa: PLC0415 - huggingface_hub: loaded on first use, not at start-up

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY or bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The hub cache folder: ``cache_dir``, else HF_HUB_CACHE, else HF_HOME/hub, else huggingface_hub's default."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants  # noqa: PLC0415 - huggingface_hub: loaded on first use, not at start-up

    return Path(constants.HF_HUB_CACHE)


def hub_endpoint() -> str:
    from huggingface_hub import constants  # noqa: PLC0415 - huggingface_hub: loaded on first use, not at start-up

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def cached_hub_file(repo_id: str, filenames: Iterable[str], cache_dir: Path) -> Path | None:
    """First of ``filenames`` present in the local cache of ``repo_id`` (main revision), or None. No network."""
    from huggingface_hub import try_to_load_from_cache  # noqa: PLC0415 - huggingface_hub: loaded on first use, not at start-up

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache_dir))
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def endpoint_reachable(url: str, *, timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout_s`` (DNS included)."""
    parsed = urlparse(url)
    host = parsed.hostname
    if not host:
        return False
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    # getaddrinfo ignores socket timeouts, so the probe runs in a daemon thread we stop waiting for.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(outcome and outcome[0])
