"""Encoder contract: the spec stored beside every embedding, the base class and the name registry.

An encoder is built by name through ``create_encoder("family:argument")``; each family registers a
builder in the torch-free ``curation.ml.encoder_registry`` (web processes read it), tests with
``@register_encoder("family")``. Builders check that their weights exist before building anything, and
raise ``WeightsUnavailable`` (never a silent random init) when they do not. The spec and the registry
functions are re-exported here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from curation.ml.encoder_registry import (  # noqa: F401  (re-exported: the names are public here too)
    ENCODERS,
    EncoderSpec,
    register_encoder,
    registered_encoder_builders,
    registered_encoder_families,
)

Preprocess = Callable[[Image.Image], torch.Tensor]
Tokenizer = Callable[[list[str]], torch.Tensor]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class WeightsUnavailable(RuntimeError):
    """The weights an encoder name asks for are neither cached nor downloadable; the message says how to get them."""


class NoTextTower(TypeError):
    """The encoder embeds images only."""


def resolve_autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """fp32 on CPU; bf16 (else fp16) autocast on CUDA unless ``precision`` says otherwise. None = no autocast."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


class Encoder(ABC):
    """A frozen model that maps preprocessed image batches (and texts, with a text tower) to unit vectors."""

    def __init__(
        self,
        spec: EncoderSpec,
        module: torch.nn.Module,
        preprocess: Preprocess,
        *,
        device: torch.device,
        precision: str = "auto",
        tokenizer_factory: Callable[[], Tokenizer] | None = None,
    ) -> None:
        self._spec = spec
        self._module = module.eval().requires_grad_(False)
        self._preprocess = preprocess
        self._tokenizer_factory = tokenizer_factory
        self._tokenizer: Tokenizer | None = None
        self._precision = precision
        self._device = torch.device("cpu")
        self.to(device)

    @property
    def spec(self) -> EncoderSpec:
        return self._spec

    @property
    def module(self) -> torch.nn.Module:
        return self._module

    @property
    def preprocess(self) -> Preprocess:
        """PIL RGB image -> float tensor (3, h, w), built from the model's own config."""
        return self._preprocess

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return self._autocast_dtype

    @property
    def tokenizer(self) -> Tokenizer:
        """Texts -> token ids for ``encode_texts`` (built on first use); NoTextTower for image-only encoders."""
        if self._tokenizer_factory is None:
            raise NoTextTower(f"encoder {self._spec.name!r} has no text tower, so no tokenizer")
        if self._tokenizer is None:
            self._tokenizer = self._tokenizer_factory()
        return self._tokenizer

    def to(self, device: str | torch.device) -> Encoder:
        self._device = torch.device(device)
        self._module.to(self._device)
        self._autocast_dtype = resolve_autocast_dtype(self._device, self._precision)
        return self

    def encode_images(self, batch: torch.Tensor) -> torch.Tensor:
        """Preprocessed images (n, 3, h, w) -> L2-normalised float32 embeddings (n, dim) on ``device``."""
        with torch.inference_mode(), self._autocast():
            features = self._image_features(batch.to(self._device, non_blocking=True))
        return F.normalize(features.float(), dim=-1)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Texts -> L2-normalised float32 embeddings (n, dim) on ``device``; NoTextTower for image-only encoders."""
        tokens = self.tokenizer(texts).to(self._device)
        with torch.inference_mode(), self._autocast():
            features = self._text_features(tokens)
        return F.normalize(features.float(), dim=-1)

    @abstractmethod
    def _image_features(self, batch: torch.Tensor) -> torch.Tensor: ...

    def _text_features(self, tokens: torch.Tensor) -> torch.Tensor:
        raise NoTextTower(f"encoder {self._spec.name!r} has no text tower")

    def _autocast(self) -> AbstractContextManager[Any]:
        if self._autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self._device.type, dtype=self._autocast_dtype)


# builder(argument, *, device: torch.device, precision: str, **family_options) -> Encoder
EncoderBuilder = Callable[..., Encoder]


def create_encoder(
    name: str, *, device: str | torch.device = "cpu", precision: str = "auto", **options: Any
) -> Encoder:
    """Build an encoder by registry name.

    name: ``open_clip:<arch>:<pretrained tag or local path>`` (e.g. ``open_clip:ViT-B-32:laion2b_s34b_b79k``)
    or ``efficientnet-lite0``. device: where it runs ("cpu"). precision: "auto" (bf16/fp16 autocast on CUDA,
    fp32 on CPU), "fp32", "bf16" or "fp16". options: passed to the family (e.g. ``cache_dir`` for open_clip).
    Raises WeightsUnavailable within seconds when the weights are missing, ValueError for a bad name
    (UnknownNameError for an unknown family).
    """
    family, _, argument = name.partition(":")
    builder: EncoderBuilder = ENCODERS.get(family)
    resolve_autocast_dtype(torch.device(device), precision)  # validates precision before any loading
    return builder(argument, device=torch.device(device), precision=precision, **options)
