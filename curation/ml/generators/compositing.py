"""Masked compositing: the parent's object, unchanged, pasted onto another background (no weights, offline).

The cheap counter-example of docs/METHODS.md §9: the object keeps its pixels and its mask, the background
changes. The same copy-paste as the evaluation's background swap (curation.ml.pasting, which
robustness.ml.attribute_edits uses too), so what training sees and what the evaluation measures are made
the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from curation.ml.generators.base import (
    GenerationOutput,
    GenerationRequest,
    Generator,
    GeneratorSpec,
)
from curation.ml.pasting import IDENTITY, fit_background, mask_is_usable, paste_object


class CompositingGenerator(Generator):
    def __init__(self) -> None:
        self.spec = GeneratorSpec(name="composite", family="composite", weights="", modes=("composite",))

    def check(self, request: GenerationRequest) -> None:
        super().check(request)
        if request.background is None:
            raise ValueError("composite needs a background image")
        assert request.image is not None and request.object_mask is not None
        if request.image.shape[:2] != request.object_mask.shape:
            raise ValueError(f"mask {request.object_mask.shape} does not match image {request.image.shape[:2]}")
        if not mask_is_usable(request.object_mask):
            raise ValueError("the object mask marks no usable object")

    def generate(self, request: GenerationRequest) -> GenerationOutput:
        self.check(request)
        assert request.image is not None and request.object_mask is not None and request.background is not None
        image = np.ascontiguousarray(request.image[..., :3])
        mask = request.object_mask.astype(bool)
        background = fit_background(np.ascontiguousarray(request.background[..., :3]), *mask.shape)
        return GenerationOutput(Image.fromarray(paste_object(image, mask, background, IDENTITY.copy())))


def build_compositing_generator(argument: str = "", **kwargs: Any) -> Generator:
    """``composite``: takes no argument and no weights."""
    if argument:
        raise ValueError(f"the composite generator takes no argument (got {argument!r})")
    return CompositingGenerator()
