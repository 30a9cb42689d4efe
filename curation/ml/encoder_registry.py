"""Encoder names, the spec stored beside embeddings and the family registry, without importing torch.

Web processes check names, offer families and read stored specs; a family's builder (torch,
open_clip) is imported by the registry's first ``get`` (``core.registry``), which
``curation.ml.encoders.create_encoder`` calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.registry import Registry

DEFAULT_ENCODER = "open_clip:ViT-B-32:laion2b_s34b_b79k"

# family -> builder(argument, *, device, precision, **options) -> Encoder, for names "family" or "family:argument"
ENCODERS: Registry[Callable[..., Any]] = Registry(
    "encoder family", hint="open_clip:<arch>:<pretrained tag or local path>"
)
ENCODERS.register_lazy("efficientnet-lite0", "curation.ml.encoders.efficientnet:build_efficientnet_lite0_encoder")
ENCODERS.register_lazy("open_clip", "curation.ml.encoders.openclip:build_open_clip_encoder")


@dataclass(frozen=True)
class EncoderSpec:
    """What produced a set of embeddings, stored beside them (JSON via ``to_dict``/``from_dict``).

    name: the registry name the encoder was created from; family, arch: what was built; weights: the
    pretrained tag, local path or packaged file; dim: embedding width; mean, std, input_size (h, w),
    interpolation, resize_mode, crop_pct: the model's own preprocessing; dtype: how embeddings are stored.
    """

    name: str
    family: str
    arch: str
    weights: str
    dim: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_size: tuple[int, int]
    has_text_tower: bool
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"
    crop_pct: float = 1.0
    dtype: str = "float16"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderSpec:
        tuples = {"mean", "std", "input_size"}
        known = {f.name for f in dataclasses.fields(cls)}
        fields: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in data.items() if k in known}
        return cls(**fields)


def register_encoder(family: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``builder(argument, *, device, precision, **options)`` for names ``family`` or ``family:argument``."""
    return ENCODERS.register(family)


def registered_encoder_families() -> tuple[str, ...]:
    """Every registered family, sorted; builds and imports nothing."""
    return tuple(sorted(ENCODERS.names()))


def registered_encoder_builders() -> dict[str, Callable[..., Any]]:
    """family -> builder of every registered family (imports them: torch, open_clip); a builder's
    ``__module__`` tells production families from test-only ones."""
    return {family: ENCODERS.get(family) for family in ENCODERS.names()}
