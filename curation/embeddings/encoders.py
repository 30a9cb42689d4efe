"""Encoders as the embeddings app uses them: names checked without loading, one loaded model per process.

A worker embedding many chunks, or a web process answering text searches, keeps the last encoder it
built (models are hundreds of MB: one at a time). Building raises EncoderUnavailable with a
one-line reason for people: an unknown name, or weights that are not there (with how to get them).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from curation.ml.encoder_registry import registered_encoder_families

if TYPE_CHECKING:  # torch loads when an encoder is built, not when a name is checked
    from curation.ml.encoders import Encoder

_cache_lock = threading.Lock()
_cached: tuple[tuple[str, str], Encoder] | None = None


class EncoderUnavailable(RuntimeError):
    """The encoder cannot be built: unknown name, bad argument, or missing weights (the message says which)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def encoder_name_check(name: str) -> str:
    """The name, stripped, if its family is registered; EncoderUnavailable(code="unknown_encoder") if not.

    Only the family is checked (no weights are touched): the job reports the rest within seconds.
    """
    name = (name or "").strip()
    family = name.partition(":")[0]
    if family not in registered_encoder_families():
        known = ", ".join(registered_encoder_families())
        raise EncoderUnavailable(f"unknown encoder {name!r}; known families: {known}", code="unknown_encoder")
    return name


def resolve_device(device: str = "auto") -> str:
    """ "auto" -> "cuda" when a GPU is visible, else "cpu"; anything else is returned as given."""
    if device == "auto":
        import torch  # noqa: PLC0415 - loaded on use: web processes check names without torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def encoder_load(name: str, *, device: str = "auto") -> Encoder:
    """The encoder ``name`` on ``device``, built once per process (the previous one is dropped).

    Raises EncoderUnavailable: code "unknown_encoder" (bad name or argument) or "weights_unavailable".
    """
    global _cached
    from curation.ml.encoders import WeightsUnavailable, create_encoder  # noqa: PLC0415 - torch, open_clip: a worker's work

    key = (encoder_name_check(name), resolve_device(device))
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        _cached = None  # free the old model before building the next
        try:
            encoder = create_encoder(key[0], device=key[1])
        except WeightsUnavailable as exc:
            raise EncoderUnavailable(str(exc), code="weights_unavailable") from exc
        except ValueError as exc:
            raise EncoderUnavailable(str(exc), code="unknown_encoder") from exc
        _cached = (key, encoder)
        return encoder
