"""Object classes for the demo when Tux Paint's stamps are missing: cut out of pip-shipped photos.

Seven classes, each from an image inside the scikit-image or scikit-learn wheel, with masks from
simple segmentations: GrabCut initialised from a fixed rectangle (astronaut, cat's face, coffee
cup, dahlia), Otsu thresholding with one stamp per connected coin (coins), and "away from the
flat background colour" (colour wheel, logo). Fewer stamps per class than Tux Paint gives, but
honest objects with real masks; GrabCut runs with OpenCV's RNG seeded, so cut-outs are stable.
"""

from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage

from curation.demo.sources import ObjectStamp, crop_to_alpha, limit_side, sklearn_sample_image

# GrabCut rectangles (x, y, w, h) around each fallback object, in the original image's pixels.
ASTRONAUT, CHELSEA, COFFEE, DAHLIA = (40, 0, 340, 512), (60, 10, 300, 290), (100, 20, 350, 360), (50, 10, 490, 400)
BLACK, WHITE = (0, 0, 0), (255, 255, 255)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    return ndimage.binary_fill_holes(labels == 1 + int(np.argmax(sizes)))


def _rgba(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return limit_side(crop_to_alpha(np.dstack([rgb, mask.astype(np.uint8) * 255])))


def grabcut_cutout(rgb: np.ndarray, rect: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """GrabCut initialised from `rect` (x, y, w, h, in full-size pixels) on a downscaled copy → RGBA."""
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    labels = np.zeros(small.shape[:2], np.uint8)
    background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    small_rect = tuple(int(v * scale) for v in rect)
    bgr = small[..., ::-1].copy()
    cv2.grabCut(bgr, labels, small_rect, background_model, foreground_model, 4, cv2.GC_INIT_WITH_RECT)
    mask = _largest_component((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD))
    return _rgba(small, mask)


def _coin_cutouts(gray: np.ndarray) -> list[np.ndarray]:
    from skimage.filters import threshold_otsu  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    mask = ndimage.binary_opening(gray > threshold_otsu(gray), iterations=2)
    labels, _ = ndimage.label(ndimage.binary_fill_holes(mask))
    rgb = np.dstack([gray] * 3)
    cutouts = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        touches_border = box[0].start == 0 or box[1].start == 0
        if min(height, width) >= 30 and max(height, width) <= 80 and not touches_border:
            cutouts.append(_rgba(rgb[box], labels[box] == index))
    return cutouts


def _not_background(rgb: np.ndarray, background: tuple[int, int, int], tolerance: int) -> np.ndarray:
    """Every pixel away from a flat background colour (specks removed, holes filled)."""
    distance = np.abs(rgb.astype(np.int16) - np.array(background, dtype=np.int16)).max(axis=-1)
    return _rgba(rgb, ndimage.binary_fill_holes(ndimage.binary_opening(distance > tolerance, iterations=2)))


def _astronaut() -> list[np.ndarray]:
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    return [grabcut_cutout(data.astronaut(), ASTRONAUT, 0.35)]


def _chelsea() -> list[np.ndarray]:
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    return [grabcut_cutout(data.chelsea(), CHELSEA, 0.6)]


def _coffee() -> list[np.ndarray]:
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    return [grabcut_cutout(data.coffee(), COFFEE, 0.4)]


def _dahlia() -> list[np.ndarray]:
    return [grabcut_cutout(sklearn_sample_image("flower.jpg"), DAHLIA, 0.4)]


def _coins() -> list[np.ndarray]:
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    return _coin_cutouts(data.coins())


def _colour_wheel() -> list[np.ndarray]:
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    return [_not_background(data.colorwheel(), BLACK, 12)]


def _logo() -> list[np.ndarray]:
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    return [_not_background(data.logo()[..., :3], WHITE, 24)]


# (class, source image, caption phrase, cut-out maker) for each fallback class.
FALLBACK_OBJECTS: list[tuple[str, str, str, Callable[[], list[np.ndarray]]]] = [
    ("person", "skimage.data.astronaut", "an astronaut", _astronaut),
    ("cat", "skimage.data.chelsea", "a cat's face", _chelsea),
    ("cup", "skimage.data.coffee", "a cup of coffee", _coffee),
    ("flower", "sklearn.datasets:flower.jpg", "a dahlia", _dahlia),
    ("coin", "skimage.data.coins", "an old coin", _coins),
    ("colour wheel", "skimage.data.colorwheel", "a colour wheel", _colour_wheel),
    ("logo", "skimage.data.logo", "the scikit-image logo", _logo),
]


def fallback_stamps() -> dict[str, list[ObjectStamp]]:
    """Seven object classes cut out of the photos that scikit-image and scikit-learn ship."""
    classes: dict[str, list[ObjectStamp]] = {}
    for class_name, source_id, phrase, cut in FALLBACK_OBJECTS:
        cutouts = cut()
        classes[class_name] = [
            ObjectStamp(class_name, source_id if len(cutouts) == 1 else f"{source_id}#{i}", phrase, rgba)
            for i, rgba in enumerate(cutouts)
        ]
    return classes
