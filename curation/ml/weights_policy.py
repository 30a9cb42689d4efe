"""Which weights an encoder or generator name may load: local paths under allowed roots, hub ids by allow-list.

A name such as ``open_clip:ViT-B-32:<tag or path>`` or ``diffusers:<hub id or folder>`` makes a worker
read files or download a repository. Requests from the pages and API are checked with `weights_refusal`:

- a local path (absolute, ``~``, ``.``, a checkpoint file name, or for diffusers more than one ``/``) is
  accepted only from an admin and only under one of the configured roots (WINNOW_WEIGHTS_ROOTS), after
  symlinks are resolved; nothing is said about whether it exists;
- anything else is a hub id or pretrained tag, accepted when ``family:argument`` matches a pattern of
  the allow-list (WINNOW_WEIGHTS_HUB_ALLOWED, fnmatch patterns). DEFAULT_HUB_ALLOWED is what the docs
  name: every open_clip pretrained tag (open_clip maps each to a fixed repository of its registry; the
  worker refuses a string that is not one), the packaged EfficientNet-Lite0 weights, and the Stable
  Diffusion repositories of their publishers (stabilityai, stable-diffusion-v1-5, CompVis, runwayml):
  well-known, safetensors-based pipelines rather than arbitrary user repositories.

Families it does not know (test encoders) carry no weights name of their own and pass. Django-free.
"""

import fnmatch
import os
from pathlib import Path

DEFAULT_HUB_ALLOWED = (
    "open_clip:*:*",
    "efficientnet-lite0",
    "diffusers:stabilityai/*",
    "diffusers:stable-diffusion-v1-5/*",
    "diffusers:CompVis/*",
    "diffusers:runwayml/*",
)
CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def weights_source(name: str) -> tuple[str, str] | None:
    """("path" | "hub", the weights part) for an open_clip, efficientnet-lite0 or diffusers name; else None."""
    family, _, argument = name.strip().partition(":")
    if family == "open_clip":
        source = argument.partition(":")[2]
        is_path = os.sep in source or source.startswith(("~", ".")) or source.endswith(CHECKPOINT_SUFFIXES)
        return ("path" if is_path else "hub"), source
    if family == "diffusers":
        is_path = argument.startswith(("/", "~", ".")) or argument.count("/") > 1 or argument.endswith(os.sep)
        return ("path" if is_path else "hub"), argument
    if family == "efficientnet-lite0":
        return "hub", argument
    return None


def weights_refusal(name: str, *, is_admin: bool, roots: list[str], hub_allowed: list[str]) -> str | None:
    """Why `name` may not be loaded for this requester, or None when it may.

    Args:
        name: an encoder or generator registry name.
        is_admin: whether the requester has the manage capability (local paths need it).
        roots: folders local weights must lie under (empty: no local path is accepted).
        hub_allowed: fnmatch patterns over the whole name; empty: DEFAULT_HUB_ALLOWED.
    """
    source = weights_source(name)
    if source is None:
        return None
    kind, value = source
    if kind == "hub" and value and Path(value).exists():  # a bare name the worker would open as a folder
        kind = "path"
    if kind == "path":
        if not is_admin:
            return "Only admins may load weights from a server path."
        resolved = Path(value).expanduser().resolve()
        if not any(resolved.is_relative_to(Path(root).expanduser().resolve()) for root in roots):
            return "Weights paths must lie in the folders allowed for weights (WINNOW_WEIGHTS_ROOTS)."
        return None
    patterns = hub_allowed or list(DEFAULT_HUB_ALLOWED)
    if not any(fnmatch.fnmatchcase(name.strip(), pattern) for pattern in patterns):
        return f"{name.strip()!r} is not among the allowed hub weights (WINNOW_WEIGHTS_HUB_ALLOWED)."
    return None
