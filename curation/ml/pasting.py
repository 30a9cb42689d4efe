"""Mask and paste primitives: an object (mask = True) warped by a 2×3 affine matrix and pasted with its
hard mask over a background, the background cover-resized to the image, the object inpainted away.

Shared by the compositing generator (curation.ml.generators.compositing) and the evaluation's attribute
edits (robustness.ml.attribute_edits, docs/METHODS.md §7), so what training sees and what the evaluation
measures are made by the same code. Images are uint8 H×W×3, masks bool H×W of the same size; a mask is
usable when it has object pixels and some background (`mask_is_usable`). OpenCV is imported by the
functions that call it: the web process imports these names (through the spurious-report and evaluation
services) and never edits an image.
"""

import numpy as np

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
    import cv2  # noqa: PLC0415 - OpenCV loaded on use: the web process imports these names, never pastes

    radius = max(1, min(image.shape[:2]) // 48)
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    hole = cv2.dilate(mask.astype(np.uint8) * 255, kernel)
    return cv2.inpaint(np.ascontiguousarray(image), hole, 3, cv2.INPAINT_TELEA)


def fit_background(background: np.ndarray, height: int, width: int) -> np.ndarray:
    """Cover-resize `background` to height × width and crop the centre (uint8 H×W×3)."""
    import cv2  # noqa: PLC0415 - OpenCV loaded on use: the web process imports these names, never pastes

    bh, bw = background.shape[:2]
    scale = max(height / bh, width / bw)
    size = (max(width, round(bw * scale)), max(height, round(bh * scale)))
    resized = cv2.resize(background, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width, :3])


def paste_object(image: np.ndarray, mask: np.ndarray, background: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp the object (and its mask) by the 2×3 `matrix` and paste it over `background`."""
    import cv2  # noqa: PLC0415 - OpenCV loaded on use: the web process imports these names, never pastes

    height, width = mask.shape
    warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped_mask = cv2.warpAffine(mask.astype(np.uint8) * 255, matrix, (width, height), flags=cv2.INTER_LINEAR)
    return np.where((warped_mask > 127)[..., None], warped, background).astype(np.uint8)


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
