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
- OpenCV is imported by the functions that call it: the web process imports this module's names
  (through the spurious-report and evaluation services) and never edits an image.
"""

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from robustness.ml.registry import DEFAULT_EDITS, EDITS  # noqa: F401  (DEFAULT_EDITS re-exported)

MIN_OBJECT_PIXELS = 4
MAX_OBJECT_FRACTION = 0.95


def mask_is_usable(mask: np.ndarray) -> bool:
    """True when the mask marks an object (≥ 4 px) that leaves at least 5% of the image as background."""
    count = int(np.count_nonzero(mask))
    return count >= MIN_OBJECT_PIXELS and count <= MAX_OBJECT_FRACTION * mask.size


def object_bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) with exclusive ends of the mask's True pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def remove_object(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with the object inpainted away (Telea), using the mask dilated by ~2% of the side."""
    import cv2

    radius = max(1, min(image.shape[:2]) // 48)
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    hole = cv2.dilate(mask.astype(np.uint8) * 255, kernel)
    return cv2.inpaint(np.ascontiguousarray(image), hole, 3, cv2.INPAINT_TELEA)


def fit_background(background: np.ndarray, height: int, width: int) -> np.ndarray:
    """Cover-resize `background` to height × width and crop the centre (uint8 H×W×3)."""
    import cv2

    bh, bw = background.shape[:2]
    scale = max(height / bh, width / bw)
    size = (max(width, round(bw * scale)), max(height, round(bh * scale)))
    resized = cv2.resize(background, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width, :3])


def paste_object(image: np.ndarray, mask: np.ndarray, background: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp the object (and its mask) by the 2×3 `matrix` and paste it over `background`."""
    import cv2

    height, width = mask.shape
    warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped_mask = cv2.warpAffine(mask.astype(np.uint8) * 255, matrix, (width, height), flags=cv2.INTER_LINEAR)
    return np.where((warped_mask > 127)[..., None], warped, background).astype(np.uint8)


def _centre(mask: np.ndarray) -> tuple[float, float]:
    x0, y0, x1, y1 = object_bbox(mask)
    return (x0 + x1 - 1) / 2.0, (y0 + y1 - 1) / 2.0


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


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
        import cv2

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
        import cv2

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
