"""Generator contract: the spec stored beside every generated image, the request, and the name registry.

A generator is built by name through ``create_generator("family:argument", **kwargs)``; each family's
builder is a lazy entry of ``GENERATORS`` (``core.registry``: its module, which may import torch, loads on
first use; tests add families with ``@register_generator("family")``). Builders check that their weights
exist before building anything and raise ``WeightsUnavailable`` (never a silent random init) when they
do not. Django-free: takes and returns arrays and PIL images.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from core.registry import Registry

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
# family -> builder(argument, **kwargs) -> Generator, for names "family" or "family:argument"
GENERATORS: Registry[GeneratorBuilder] = Registry("generator family", hint="diffusers:<hub id or local folder>")
GENERATORS.register_lazy("composite", "curation.ml.generators.compositing:build_compositing_generator")
GENERATORS.register_lazy("diffusers", "curation.ml.generators.diffusion:build_diffusers_generator")


def register_generator(family: str) -> Callable[[GeneratorBuilder], GeneratorBuilder]:
    """Register `builder(argument: str, **kwargs) -> Generator` for names ``family`` or ``family:argument``."""
    return GENERATORS.register(family)


def registered_generator_families() -> list[str]:
    return sorted(GENERATORS.names())


def create_generator(name: str, **kwargs: Any) -> Generator:
    """A generator by registry name: ``diffusers:<hub id or local folder>`` or ``composite``.

    kwargs go to the family's builder (diffusers: scheduler, device, precision, cache_dir).
    Raises UnknownNameError (a ValueError) for an unknown family, WeightsUnavailable when weights cannot be found.
    """
    family, _, argument = name.partition(":")
    return GENERATORS.create(family, argument, **kwargs)
