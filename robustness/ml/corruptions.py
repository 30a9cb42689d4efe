"""Image corruptions of ImageNet-C (Hendrycks & Dietterich 2019) by name, reproducible per image.

Built on `imagecorruptions-imaug` 1.1.5, which runs all 19 corruptions on NumPy 2. Choices made:
- Every corruption is registered by name (in robustness.ml.registry, which needs no import of the
  library) and built with `create_corruption(name)`; the 15 of the benchmark are COMMON_CORRUPTIONS,
  the 4 held-out ones HELD_OUT_CORRUPTIONS.
- The library draws from the global `np.random` (and glass_blur / impulse_noise take a seed of
  their own), so each call seeds from `image_seed(seed, image_key, name, severity)` and restores
  the global state afterwards: the same image, key and seed give the same bytes in any order.
  Because of that global state a corruption is not thread-safe; run it in processes.
- Inputs are uint8 H×W×3 of at least 32 px (the library's floor); outputs are uint8 H×W×3.
- frost is our copy of the library's function that decodes and rescales each frost photo once per
  image size instead of on every call: the same random draws and the same pixels (tested), 3× faster.
"""

import functools
import hashlib
import importlib.resources
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from robustness.ml.registry import COMMON_CORRUPTIONS, CORRUPTIONS, HELD_OUT_CORRUPTIONS

SEVERITIES = (1, 2, 3, 4, 5)
MIN_SIDE = 32
# Corruptions whose library function takes its own seed instead of using the global np.random.
_OWN_SEED = frozenset({"glass_blur", "impulse_noise"})


def image_seed(seed: int, image_key: int | str, name: str, severity: int) -> int:
    """A 32-bit seed for one (image, corruption, severity) under a run seed, stable across processes."""
    digest = hashlib.sha256(f"{seed}:{image_key}:{name}:{severity}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


@contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@dataclass(frozen=True)
class Corruption:
    """One ImageNet-C corruption; call it with (image, severity, seed)."""

    name: str
    function: Callable[..., np.ndarray]

    def __call__(self, image: np.ndarray, severity: int, seed: int) -> np.ndarray:
        """Corrupt one uint8 H×W×3 image (each side ≥ 32 px) at severity 1–5, reproducibly for `seed`."""
        _check_image(image)
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of 1–5, not {severity!r}")
        from PIL import Image  # noqa: PLC0415 - PIL/cv2 loaded on use, not at import

        kwargs = {"seed": seed} if self.name in _OWN_SEED else {}
        with _global_numpy_seed(seed):
            corrupted = self.function(Image.fromarray(image), severity, **kwargs)
        return np.clip(np.asarray(corrupted, dtype=np.float64), 0, 255).astype(np.uint8).reshape(image.shape)


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 H×W×3 image, got {image.dtype} {image.shape}")
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(f"images must be at least {MIN_SIDE} px on each side, got {image.shape[1]}×{image.shape[0]}")


def corruption_names(subset: str = "common") -> list[str]:
    """'common' (the 15 of mCE), 'held_out' (4 more) or 'all' (19)."""
    if subset == "common":
        return list(COMMON_CORRUPTIONS)
    if subset == "held_out":
        return list(HELD_OUT_CORRUPTIONS)
    if subset == "all":
        return [*COMMON_CORRUPTIONS, *HELD_OUT_CORRUPTIONS]
    raise ValueError(f"unknown corruption subset {subset!r}: common, held_out or all")


FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
FROST_MIX = ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))


@functools.lru_cache(maxsize=32)
def _frost_layer(index: int, height: int, width: int) -> np.ndarray:
    """Frost photo `index` rescaled for images of height × width, exactly as imagecorruptions does it."""
    import cv2  # noqa: PLC0415 - PIL/cv2 loaded on use, not at import

    resource = importlib.resources.files("imagecorruptions") / "frost" / FROST_FILES[index]
    with importlib.resources.as_file(resource) as path:
        frost = cv2.imread(str(path))
    if frost is None:
        raise FileNotFoundError(f"imagecorruptions' frost image {FROST_FILES[index]} is missing")
    frost_height, frost_width = frost.shape[:2]
    # The photo is enlarged only along the sides that are too short (by the larger factor when both are).
    scale_height = height / frost_height if frost_height < height else 0.0
    scale_width = width / frost_width if frost_width < width else 0.0
    scale = 1.1 * (max(scale_height, scale_width) or 1.0)
    size = (int(np.ceil(frost_width * scale)), int(np.ceil(frost_height * scale)))
    return cv2.resize(frost, dsize=size, interpolation=cv2.INTER_CUBIC)


def frost(image: object, severity: int = 1) -> np.ndarray:
    """imagecorruptions' frost with the same random draws and output, but each rescaled frost photo is
    decoded and resized once per image size instead of on every call (it was 40% of the suite's time)."""
    pixels = np.array(image)
    height, width = pixels.shape[:2]
    weight_image, weight_frost = FROST_MIX[severity - 1]
    layer = _frost_layer(np.random.randint(6), height, width)
    top, left = np.random.randint(0, layer.shape[0] - height), np.random.randint(0, layer.shape[1] - width)
    crop = layer[top : top + height, left : left + width][..., [2, 1, 0]]
    return np.clip(weight_image * pixels + weight_frost * crop, 0, 255)


def create_corruption(name: str) -> Corruption:
    """The corruption registered under `name` (one of `corruption_names('all')`); the library (numba,
    skimage: heavy) is imported by the first one. Raises UnknownNameError (a ValueError) for other names."""
    return Corruption(name, CORRUPTIONS.get(name))


def corrupt_images(
    images: np.ndarray | Sequence[np.ndarray],
    *,
    name: str,
    severity: int,
    seed: int,
    image_keys: Sequence[int | str],
) -> np.ndarray:
    """Corrupt a batch (N×H×W×3 uint8, or same-size images) with one seed per image.

    Args:
        images: the images, uint8 H×W×3 each, all the same size.
        name: corruption name.
        severity: 1–5.
        seed: the run seed; each image gets `image_seed(seed, key, name, severity)`.
        image_keys: a stable key per image (e.g. the sample id), so order does not matter.
    """
    if len(images) != len(image_keys):
        raise ValueError(f"{len(images)} images but {len(image_keys)} keys")
    corruption = create_corruption(name)
    pairs = zip(images, image_keys, strict=True)
    out = [corruption(image, severity, image_seed(seed, key, name, severity)) for image, key in pairs]
    return np.stack(out) if out else np.zeros((0, 0, 0, 3), dtype=np.uint8)
