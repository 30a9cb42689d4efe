"""Attribute edits with an object mask (ImageNet-E, Li et al. CVPR 2023), CPU version.

docs/METHODS.md §7: edit the background, object size, position and rotation with the mask, and keep a
null-edit control. Choices made:
- Every edit is a copy-paste: the object (mask = True) is warped by a 2×3 affine matrix and pasted
  with its hard (warped) mask over a background. For size, position and rotation the background
  is the image itself with the object removed by OpenCV's Telea inpainting of a slightly dilated
  mask; for the background swap it is another image, cover-resized to the image's size.
- The null edit runs the same pipeline with the identity matrix over the inpainted background, so
  only the inpainted ring just outside the object differs from the original: its accuracy drop
  measures what the pipeline itself costs and should be about zero.
- Randomness (rotation direction, new position) comes from the `rng` passed in, so a caller that
  seeds one generator per image gets reproducible edits.
- Images are uint8 H×W×3, masks bool H×W of the same size; a mask is usable when it has object
  pixels and some background (`mask_is_usable`).
- The mask and paste primitives (`mask_is_usable`, `fit_background`, `paste_object`, `remove_object`)
  live in curation.ml.pasting, shared with the compositing generator; they are re-exported here.
- OpenCV is imported by the functions that call it: the web process imports this module's names
  (through the spurious-report and evaluation services) and never edits an image.
"""

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from curation.ml.pasting import (  # noqa: F401  (MIN_OBJECT_PIXELS, MAX_OBJECT_FRACTION re-exported)
    IDENTITY,
    MAX_OBJECT_FRACTION,
    MIN_OBJECT_PIXELS,
    fit_background,
    mask_is_usable,
    object_bbox,
    paste_object,
    remove_object,
)
from robustness.ml.registry import DEFAULT_EDITS, EDITS  # noqa: F401  (DEFAULT_EDITS re-exported)


def _centre(mask: np.ndarray) -> tuple[float, float]:
    x0, y0, x1, y1 = object_bbox(mask)
    return (x0 + x1 - 1) / 2.0, (y0 + y1 - 1) / 2.0


class AttributeEdit:
    """An edit: `edit(image, mask, rng=..., background=...)` returns the edited uint8 image."""

    name: ClassVar[str] = ""
    needs_background: ClassVar[bool] = False

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator, background: np.ndarray | None = None
    ) -> np.ndarray:
        if image.shape[:2] != mask.shape:
            raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
        if not mask_is_usable(mask):
            raise ValueError("the mask has no usable object")
        mask = mask.astype(bool)
        return paste_object(image, mask, self.background_for(image, mask, background), self.matrix(mask, rng))

    def background_for(self, image: np.ndarray, mask: np.ndarray, background: np.ndarray | None) -> np.ndarray:
        return remove_object(image, mask)

    def matrix(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return IDENTITY.copy()

    def describe(self) -> dict[str, float | str]:
        return {"name": self.name}


class NullEdit(AttributeEdit):
    """Control: the object pasted back where it was over the inpainted background."""

    name = "null"


class BackgroundSwap(AttributeEdit):
    """The object, unchanged, on another background."""

    name = "background_swap"
    needs_background = True

    def background_for(self, image: np.ndarray, mask: np.ndarray, background: np.ndarray | None) -> np.ndarray:
        if background is None:
            raise ValueError("background_swap needs a background image")
        return fit_background(background, *mask.shape)


class ObjectScale(AttributeEdit):
    """The object resized by `factor` about its bounding-box centre."""

    name = "object_scale"

    def __init__(self, factor: float = 0.6):
        if factor <= 0:
            raise ValueError("factor must be > 0")
        self.factor = float(factor)

    def matrix(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2  # noqa: PLC0415 - OpenCV loaded on use: the web process imports this module, never edits

        return cv2.getRotationMatrix2D(_centre(mask), 0.0, self.factor)

    def describe(self) -> dict[str, float | str]:
        return {"name": self.name, "factor": self.factor}


class ObjectPosition(AttributeEdit):
    """The object moved to a random place where its bounding box stays inside the image."""

    name = "object_position"

    def matrix(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x0, y0, x1, y1 = object_bbox(mask)
        height, width = mask.shape
        new_x = int(rng.integers(0, width - (x1 - x0) + 1))
        new_y = int(rng.integers(0, height - (y1 - y0) + 1))
        return np.array([[1.0, 0.0, float(new_x - x0)], [0.0, 1.0, float(new_y - y0)]])


class ObjectRotation(AttributeEdit):
    """The object rotated by ±`degrees` (direction drawn per image) about its bounding-box centre."""

    name = "object_rotation"

    def __init__(self, degrees: float = 45.0):
        self.degrees = float(degrees)

    def matrix(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2  # noqa: PLC0415 - OpenCV loaded on use: the web process imports this module, never edits

        sign = 1.0 if rng.random() < 0.5 else -1.0
        return cv2.getRotationMatrix2D(_centre(mask), sign * self.degrees, 1.0)

    def describe(self) -> dict[str, float | str]:
        return {"name": self.name, "degrees": self.degrees}


def register_edit(name: str, factory: Callable[..., AttributeEdit]) -> None:
    """Register ``factory(**parameters) -> AttributeEdit`` under ``name`` (the built-in edits are in
    robustness.ml.registry)."""
    EDITS.register(name)(factory)


def create_edit(name: str, **kwargs: float) -> AttributeEdit:
    """An attribute edit by name: null, background_swap, object_scale (factor), object_position,
    object_rotation (degrees). Raises UnknownNameError (a ValueError) for another name."""
    return EDITS.create(name, **kwargs)
