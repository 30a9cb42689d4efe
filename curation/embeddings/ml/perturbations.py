"""The small changes that turn an image into a near duplicate, for calibrating a duplicate threshold.

Near duplicates in collected data come from re-encoding (a JPEG saved again at a lower quality), from
a shift or crop of a few pixels (screenshots, re-framing), and from resizing (thumbnails scaled back
up). Each change here draws its strength from a seeded generator, so a calibration is reproducible.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

JPEG_QUALITY = (40, 75)
SHIFT_PIXELS = (2, 6)
CROP_FRACTION = (0.03, 0.08)
RESIZE_FACTOR = (0.5, 0.8)

Perturbation = Callable[[Image.Image, np.random.Generator], bytes]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_reencode(image: Image.Image, rng: np.random.Generator) -> bytes:
    """Saved again as JPEG at a quality drawn from JPEG_QUALITY."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=int(rng.integers(*JPEG_QUALITY, endpoint=True)))
    return buffer.getvalue()


def shift(image: Image.Image, rng: np.random.Generator) -> bytes:
    """Moved by a few pixels in x and y (SHIFT_PIXELS each, random signs); the uncovered edge repeats."""
    dx, dy = (int(rng.integers(*SHIFT_PIXELS, endpoint=True)) * int(rng.choice([-1, 1])) for _ in range(2))
    pixels = np.asarray(image.convert("RGB"))
    padded = np.pad(pixels, ((abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0)), mode="edge")
    top, left = abs(dy) - dy, abs(dx) - dx
    return _png(Image.fromarray(padded[top : top + pixels.shape[0], left : left + pixels.shape[1]]))


def crop(image: Image.Image, rng: np.random.Generator) -> bytes:
    """A border of CROP_FRACTION of each side cut off (at least one pixel), kept at the cropped size."""
    width, height = image.size
    fraction = float(rng.uniform(*CROP_FRACTION))
    dx, dy = max(1, round(width * fraction)), max(1, round(height * fraction))
    left, top = int(rng.integers(0, dx + 1)), int(rng.integers(0, dy + 1))
    return _png(image.convert("RGB").crop((left, top, width - (dx - left), height - (dy - top))))


def resize(image: Image.Image, rng: np.random.Generator) -> bytes:
    """Scaled down by RESIZE_FACTOR (bilinear) and kept at that size, as a thumbnail copy would be."""
    factor = float(rng.uniform(*RESIZE_FACTOR))
    width, height = image.size
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return _png(image.convert("RGB").resize(size, Image.Resampling.BILINEAR))


PERTURBATIONS: dict[str, Perturbation] = {"jpeg": jpeg_reencode, "shift": shift, "crop": crop, "resize": resize}


def perturbed_copies(image: Image.Image, *, seed: int) -> list[tuple[str, bytes]]:
    """(name, encoded bytes) of one copy of ``image`` per perturbation, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return [(name, perturb(image, rng)) for name, perturb in PERTURBATIONS.items()]
