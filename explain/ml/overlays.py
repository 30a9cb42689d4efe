"""CAM maps as pictures: a colour heatmap and the heatmap blended onto the image (pytorch-grad-cam's overlay)."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image
from pytorch_grad_cam.utils.image import show_cam_on_image

OVERLAY_IMAGE_WEIGHT = 0.5


def heatmap_rgb(cam: np.ndarray) -> np.ndarray:
    """H×W map in [0, 1] → H×W×3 uint8 RGB in the JET colour map (blue low, red high)."""
    scaled = (np.clip(cam, 0, 1) * 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB))


def overlay_rgb(image: np.ndarray, cam: np.ndarray, *, image_weight: float = OVERLAY_IMAGE_WEIGHT) -> np.ndarray:
    """H×W×3 uint8 image with the H×W map in [0, 1] blended on top (``image_weight`` of the image)."""
    return show_cam_on_image(
        image.astype(np.float32) / 255, np.clip(cam, 0, 1), use_rgb=True, image_weight=image_weight
    )


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=False, compress_level=3)
    return buffer.getvalue()


def raw_maps_bytes(sample_ids: np.ndarray, raw: np.ndarray, targets: np.ndarray) -> bytes:
    """One batch's unscaled maps as an ``.npz`` (sample_ids, raw N×h×w float32, targets)."""
    buffer = io.BytesIO()
    np.savez(buffer, sample_ids=sample_ids.astype(np.int64), raw=raw.astype(np.float32), targets=targets)
    return buffer.getvalue()


def raw_maps_load(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data)) as archive:
        return {name: archive[name] for name in archive.files}
