"""Generator contract: the spec stored beside every generated image, the request, and the name registry.

A generator is built by name through ``create_generator("family:argument", **kwargs)``; each family
registers a builder with ``@register_generator("family")``. Builders check that their weights exist
before building anything and raise ``WeightsUnavailable`` (never a silent random init) when they do not.
Django-free: takes and returns arrays and PIL images.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

MODES = ("text2img", "img2img", "inpaint", "composite")


class WeightsUnavailable(RuntimeError):
    """The weights a generator name asks for are neither cached nor downloadable; the message says how to get them."""


@dataclass(frozen=True)
class GeneratorSpec:
    """What produced an image, stored with it: registry name, family, weights (hub id, folder or ""),
    the modes it supports, scheduler, device and dtype it ran with."""

    name: str
    family: str
    weights: str
    modes: tuple[str, ...]
    scheduler: str = ""
    device: str = "cpu"
    dtype: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GenerationRequest:
    """One image to make.

    mode: text2img | img2img | inpaint | composite. image: the parent (uint8 H×W×3) for img2img, inpaint
    and composite; object_mask: bool H×W, True on the object (inpaint repaints the rest; composite pastes
    the object); background: uint8 H×W×3 for composite. strength: img2img/inpaint (1.0 ignores the parent).
    """

    mode: str
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    steps: int = 25
    guidance: float = 7.5
    strength: float | None = None
    width: int | None = None
    height: int | None = None
    image: np.ndarray | None = None
    object_mask: np.ndarray | None = None
    background: np.ndarray | None = None


@dataclass
class GenerationOutput:
    """The image, the prompt as the model saw it (after truncation), and warnings for the record."""

    image: Image.Image
    prompt_used: str = ""
    warnings: list[str] = field(default_factory=list)


class Generator(ABC):
    """Makes one image per request; `spec` describes it."""

    spec: GeneratorSpec

    def check(self, request: GenerationRequest) -> None:
        """Raise ValueError with a one-line reason when the request does not fit this generator."""
        if request.mode not in self.spec.modes:
            raise ValueError(f"generator {self.spec.name!r} does not do {request.mode} (modes: {self.spec.modes})")
        if request.mode in ("img2img", "inpaint", "composite") and request.image is None:
            raise ValueError(f"{request.mode} needs a parent image")
        if request.mode in ("inpaint", "composite") and request.object_mask is None:
            raise ValueError(f"{request.mode} needs the parent's object mask")

    @abstractmethod
    def generate(self, request: GenerationRequest) -> GenerationOutput: ...


GeneratorBuilder = Callable[..., Generator]
_BUILDERS: dict[str, GeneratorBuilder] = {}


def register_generator(family: str) -> Callable[[GeneratorBuilder], GeneratorBuilder]:
    """Register `builder(argument: str, **kwargs) -> Generator` for names ``family`` or ``family:argument``."""

    def register(builder: GeneratorBuilder) -> GeneratorBuilder:
        if family in _BUILDERS and _BUILDERS[family] is not builder:
            raise ValueError(f"generator family {family!r} is registered twice")
        _BUILDERS[family] = builder
        return builder

    return register


def registered_generator_families() -> list[str]:
    return sorted(_BUILDERS)


def create_generator(name: str, **kwargs: Any) -> Generator:
    """A generator by registry name: ``diffusers:<hub id or local folder>`` or ``composite``.

    kwargs go to the family's builder (diffusers: scheduler, device, precision, cache_dir).
    Raises ValueError for an unknown family, WeightsUnavailable when weights cannot be found.
    """
    family, _, argument = name.partition(":")
    try:
        builder = _BUILDERS[family]
    except KeyError:
        raise ValueError(
            f"unknown generator {name!r}; known families: {', '.join(registered_generator_families())}"
        ) from None
    return builder(argument, **kwargs)
