"""Render a planned demo file: background crop, pasted cut-outs, object mask, JPEG bytes.

Rendering choices:
- All randomness comes from the file's own seeds (`render_seed` for the composite,
  `variant_seed` for a near duplicate's change), so any file renders alone and identically.
- The background is a random crop (55–100% of the largest crop with the file's aspect ratio)
  resized bilinearly to the file's size.
- The primary object's longest side is 55–85% of the image's shorter side; a second object
  35–50%, placed at the best of 8 random positions (least overlap with the first). Objects
  stay inside the image, are mirrored half the time (unless the stamp forbids it) and are
  alpha-blended with their soft alpha; the mask is the union of alpha > 50%.
- JPEG quality `config.jpeg_quality` with Pillow's defaults (no optimisation pass: fast and
  byte-stable for a given Pillow/libjpeg).
- Near-duplicate changes: "jitter" crops 2–6 px off each side and resizes back (mask likewise,
  nearest neighbour); "jpeg" re-encodes the original JPEG at quality 60–80; "brightness"
  scales pixels by 0.88–0.94 or 1.06–1.12.
"""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from curation.demo.plan import DemoConfig, PlannedImage
from curation.demo.sources import DemoSources, ObjectStamp

Box = tuple[int, int, int, int]


@dataclass(frozen=True, eq=False)
class Composite:
    """RGB pixels (H×W×3 uint8), object mask (H×W bool) and each object's box (x0, y0, x1, y1)."""

    rgb: np.ndarray
    mask: np.ndarray
    object_boxes: list[Box]


@dataclass(frozen=True, eq=False)
class RenderedImage:
    """A file as stored: its JPEG bytes, its mask and the boxes of its objects."""

    data: bytes
    mask: np.ndarray
    object_boxes: list[Box]


def jpeg_encode(rgb: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def mask_png_encode(mask: np.ndarray) -> bytes:
    """The mask as Winnow stores masks (8-bit PNG, 0 background, 255 object), without the slow
    `optimize` pass of `curation.services.ingest.mask_encode` (5× faster, ~25% larger)."""
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _background_crop(background: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    source_height, source_width = background.shape[:2]
    largest_width = min(source_width, source_height * width / height)
    crop_width = largest_width * rng.uniform(0.55, 1.0)
    crop_height = crop_width * height / width
    x = rng.uniform(0, source_width - crop_width)
    y = rng.uniform(0, source_height - crop_height)
    box = (x, y, x + crop_width, y + crop_height)
    return np.asarray(Image.fromarray(background).resize((width, height), Image.Resampling.BILINEAR, box=box))


def _scaled_stamp(stamp: ObjectStamp, longest_side: float, limits: tuple[int, int], mirror: bool) -> np.ndarray:
    height, width = stamp.rgba.shape[:2]
    scale = min(longest_side / max(height, width), limits[0] / width, limits[1] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    rgba = np.asarray(Image.fromarray(stamp.rgba, mode="RGBA").resize(size, Image.Resampling.BILINEAR))
    return rgba[:, ::-1] if mirror else rgba


def _paste(canvas: np.ndarray, mask: np.ndarray, rgba: np.ndarray, x: int, y: int) -> Box:
    height, width = rgba.shape[:2]
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    region = canvas[y : y + height, x : x + width]
    canvas[y : y + height, x : x + width] = alpha * rgba[..., :3] + (1.0 - alpha) * region
    mask[y : y + height, x : x + width] |= alpha[..., 0] > 0.5
    return (x, y, x + width, y + height)


def _position(rgba: np.ndarray, mask: np.ndarray, rng: np.random.Generator, tries: int) -> tuple[int, int]:
    """The candidate top-left corner (of `tries` random ones) whose object overlaps `mask` least."""
    height, width = rgba.shape[:2]
    opaque = rgba[..., 3] > 127
    candidates = [
        (int(rng.integers(mask.shape[1] - width + 1)), int(rng.integers(mask.shape[0] - height + 1)))
        for _ in range(tries)
    ]
    overlaps = [int((mask[y : y + height, x : x + width] & opaque).sum()) for x, y in candidates]
    return candidates[int(np.argmin(overlaps))]


def composite_render(image: PlannedImage, sources: DemoSources) -> Composite:
    """The composite of a planned file, before any near-duplicate change."""
    rng = np.random.default_rng(image.render_seed)
    background = sources.background(image.background_id).rgb
    canvas = _background_crop(background, image.width, image.height, rng).astype(np.float32)
    mask = np.zeros((image.height, image.width), dtype=bool)
    boxes = []
    short_side = min(image.width, image.height)
    for index, (class_name, stamp_index) in enumerate(image.objects):
        stamp = sources.stamps[class_name][stamp_index]
        low, high = (0.55, 0.85) if index == 0 else (0.35, 0.5)
        mirror = stamp.mirror_allowed and rng.random() < 0.5
        rgba = _scaled_stamp(stamp, rng.uniform(low, high) * short_side, (image.width, image.height), mirror)
        x, y = _position(rgba, mask, rng, tries=1 if index == 0 else 8)
        boxes.append(_paste(canvas, mask, rgba, x, y))
    return Composite(np.clip(np.rint(canvas), 0, 255).astype(np.uint8), mask, boxes)


def _box_resized(box: Box, crop: Box, size: tuple[int, int]) -> Box:
    """Where `box` lands when the `crop` region is resized to `size`, clipped to the image."""
    scale_x, scale_y = size[0] / (crop[2] - crop[0]), size[1] / (crop[3] - crop[1])
    x0, y0 = round((box[0] - crop[0]) * scale_x), round((box[1] - crop[1]) * scale_y)
    x1, y1 = round((box[2] - crop[0]) * scale_x), round((box[3] - crop[1]) * scale_y)
    return (max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1))


def _jitter(composite: Composite, rng: np.random.Generator) -> Composite:
    height, width = composite.mask.shape
    left, top, right, bottom = (int(v) for v in rng.integers(2, 7, size=4))
    crop = (left, top, width - right, height - bottom)
    rgb = Image.fromarray(composite.rgb).resize((width, height), Image.Resampling.BILINEAR, box=crop)
    mask = Image.fromarray(composite.mask).resize((width, height), Image.Resampling.NEAREST, box=crop)
    boxes = [_box_resized(box, crop, (width, height)) for box in composite.object_boxes]
    return Composite(np.asarray(rgb), np.asarray(mask), boxes)


def _near_duplicate(composite: Composite, image: PlannedImage, quality: int) -> RenderedImage:
    rng = np.random.default_rng(image.variant_seed)
    if image.near_transform == "jitter":
        jittered = _jitter(composite, rng)
        return RenderedImage(jpeg_encode(jittered.rgb, quality), jittered.mask, jittered.object_boxes)
    if image.near_transform == "jpeg":
        decoded = np.asarray(Image.open(io.BytesIO(jpeg_encode(composite.rgb, quality))).convert("RGB"))
        data = jpeg_encode(decoded, int(rng.integers(60, 81)))
        return RenderedImage(data, composite.mask, composite.object_boxes)
    if image.near_transform == "brightness":
        factor = rng.uniform(1.06, 1.12) if rng.random() < 0.5 else rng.uniform(0.88, 0.94)
        rgb = np.clip(np.rint(composite.rgb.astype(np.float32) * factor), 0, 255).astype(np.uint8)
        return RenderedImage(jpeg_encode(rgb, quality), composite.mask, composite.object_boxes)
    raise ValueError(f"unknown near-duplicate change {image.near_transform!r}")


def image_render(image: PlannedImage, sources: DemoSources, config: DemoConfig) -> RenderedImage:
    """The file's bytes and mask: its composite, changed when it is a near-duplicate variant."""
    composite = composite_render(image, sources)
    if image.near_transform:
        return _near_duplicate(composite, image, config.jpeg_quality)
    return RenderedImage(jpeg_encode(composite.rgb, config.jpeg_quality), composite.mask, composite.object_boxes)
