"""Encoder names, the spec stored beside embeddings and the family registry, without importing torch.

Web processes check names, offer families and read stored specs; the families themselves (torch,
open_clip) register here when ``curation.ml.encoders`` is imported, which builds them. A test keeps
``BUILTIN_ENCODER_FAMILIES`` equal to the families that package registers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

DEFAULT_ENCODER = "open_clip:ViT-B-32:laion2b_s34b_b79k"
# the families curation.ml.encoders registers (tests may register more)
BUILTIN_ENCODER_FAMILIES = ("efficientnet-lite0", "open_clip")

Builder = TypeVar("Builder", bound=Callable[..., Any])

_ENCODER_FAMILIES: dict[str, Callable[..., Any]] = {}


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


def register_encoder(family: str) -> Callable[[Builder], Builder]:
    """Register ``builder(argument, *, device, precision, **options)`` for names ``family`` or ``family:argument``."""

    def decorate(builder: Builder) -> Builder:
        if family in _ENCODER_FAMILIES:
            raise ValueError(f"encoder family {family!r} is already registered")
        _ENCODER_FAMILIES[family] = builder
        return builder

    return decorate


def registered_encoder_families() -> tuple[str, ...]:
    """The built-in families and any registered in this process, sorted; builds nothing."""
    return tuple(sorted(set(BUILTIN_ENCODER_FAMILIES) | set(_ENCODER_FAMILIES)))


def registered_encoder_builders() -> dict[str, Callable[..., Any]]:
    """family -> builder (a copy) of the families registered so far (all built-in ones once
    ``curation.ml.encoders`` is imported); a builder's ``__module__`` tells production families from test-only ones."""
    return dict(_ENCODER_FAMILIES)
