"""Turning bytes into stored samples: decode safely, hash, thumbnail, store once.

Shared by every path that adds images (import, demo builder, synthetic batches). The content
hash is the sha256 of the file's original bytes, and those bytes are stored unchanged (so an
export re-imports to the same hashes); EXIF orientation is applied to the recorded width and
height, to thumbnails and by `sample_image_open`, never by rewriting the original.
"""

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from core.storage import blob_delete, blob_key, blob_open, blob_save, sha256_bytes
from curation.models import Dataset, Sample, SampleAlias, SampleSource

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "TIFF": "tif", "WEBP": "webp"}
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


class ImageRejected(Exception):
    """The bytes are not an acceptable image; `reason` is a one-line explanation for the report."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    sha256: str
    format: str
    mode: str
    width: int
    height: int
    extension: str
    thumbnail: bytes


def _to_display_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit RGB rendering of any mode (16-bit, CMYK, palette, alpha on white)."""
    if image.mode in SIXTEEN_BIT_MODES or image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" else max(float(array.max()), 1e-9)
        image = Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def image_decode(data: bytes, *, max_pixels: int | None = None, thumbnail_size: int | None = None) -> DecodedImage:
    """Fully decode `data` and make its thumbnail, or raise ImageRejected with the reason.

    Args:
        data: the file's bytes.
        max_pixels: decompression-bomb limit on width × height (default IMPORT_MAX_IMAGE_PIXELS).
        thumbnail_size: longest side of the JPEG thumbnail (default THUMBNAIL_SIZE).
    """
    max_pixels = max_pixels or settings.IMPORT_MAX_IMAGE_PIXELS
    thumbnail_size = thumbnail_size or settings.THUMBNAIL_SIZE
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageRejected("not an image: the content is not a recognised image format")
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb: {exc}")
    if image.format not in ALLOWED_FORMATS:
        raise ImageRejected(f"unsupported image format {image.format}")
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(f"decompression bomb: {width}×{height} pixels exceeds the limit of {max_pixels:,}")
    try:
        image.load()
        oriented = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb: {exc}")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"truncated or corrupt image data ({exc})")
    thumb = _to_display_rgb(oriented)
    thumb.thumbnail((thumbnail_size, thumbnail_size))
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=85)
    return DecodedImage(
        sha256=sha256_bytes(data),
        format=image.format,
        mode=image.mode,
        width=oriented.width,
        height=oriented.height,
        extension=ALLOWED_FORMATS[image.format],
        thumbnail=buffer.getvalue(),
    )


def mask_encode(mask: Image.Image | bytes, *, size: tuple[int, int]) -> bytes:
    """A binary object mask as 8-bit PNG (0 background, 255 object) of exactly `size`."""
    if isinstance(mask, bytes):
        try:
            mask = Image.open(io.BytesIO(mask))
            mask.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise ImageRejected(f"mask is not a readable image ({exc})")
    mask = ImageOps.exif_transpose(mask)
    if mask.size != size:
        raise ImageRejected(f"mask size {mask.size[0]}×{mask.size[1]} does not match image {size[0]}×{size[1]}")
    if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
        mask = mask.convert("RGBA").getchannel("A")
    binary = (np.asarray(mask.convert("L")) > 127).astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(binary, mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class IngestResult:
    sample: Sample
    created: bool


def sample_ingest(
    *,
    dataset: Dataset,
    data: bytes,
    original_name: str,
    decoded: DecodedImage | None = None,
    mask_png: bytes | None = None,
    caption: str = "",
    provenance: dict[str, Any] | None = None,
    source: str = SampleSource.REAL,
    job_id: int | None = None,
) -> IngestResult:
    """Store an image (once per content hash) and return its Sample.

    An identical file already in the dataset is not stored again: the name is recorded as an
    alias of the existing sample (an exact-duplicate group) and `created` is False.
    """
    decoded = decoded or image_decode(data)
    existing = Sample.objects.filter(dataset=dataset, sha256=decoded.sha256).first()
    if existing is not None:
        SampleAlias.objects.create(dataset=dataset, sample=existing, original_name=original_name, job_id=job_id)
        return IngestResult(existing, False)
    sample = sample_stage(
        dataset=dataset,
        data=data,
        original_name=original_name,
        decoded=decoded,
        mask_png=mask_png,
        caption=caption,
        provenance=provenance,
        source=source,
        job_id=job_id,
    )
    with transaction.atomic():
        sample.save(force_insert=True)
        SampleAlias.objects.create(dataset=dataset, sample=sample, original_name=original_name, job_id=job_id)
    return IngestResult(sample, True)


def sample_stage(
    *,
    dataset: Dataset,
    data: bytes,
    original_name: str,
    decoded: DecodedImage,
    mask_png: bytes | None = None,
    caption: str = "",
    provenance: dict[str, Any] | None = None,
    source: str = SampleSource.REAL,
    job_id: int | None = None,
) -> Sample:
    """Store a new sample's blobs and return its row unsaved, for callers that insert rows in bulk.

    The caller knows the content hash is new to the dataset, and inserts the row (and the alias of
    its first name, as `sample_ingest` does) soon after: a blob without a row is not found by
    `samples_delete_for_job`. When a blob cannot be stored, those this call wrote are deleted.
    """
    image_key = blob_key(sha256=decoded.sha256, kind="images", extension=decoded.extension)
    thumbnail_key = blob_key(sha256=decoded.sha256, kind="thumbnails", extension="jpg")
    mask_key = blob_key(sha256=sha256_bytes(mask_png), kind="masks", extension="png") if mask_png is not None else ""
    blobs = [(image_key, data), (thumbnail_key, decoded.thumbnail)]
    if mask_png is not None:
        blobs.append((mask_key, mask_png))
    _blobs_save_all_or_none(blobs)
    return Sample(
        dataset=dataset,
        sha256=decoded.sha256,
        image_key=image_key,
        thumbnail_key=thumbnail_key,
        mask_key=mask_key,
        original_name=original_name[:500],
        width=decoded.width,
        height=decoded.height,
        format=decoded.format,
        mode=decoded.mode,
        file_size=len(data),
        source=source,
        caption=caption,
        provenance=provenance or {},
        import_job_id=job_id,
    )


def _blobs_save_all_or_none(blobs: list[tuple[str, bytes]]) -> None:
    """Save every blob, or delete those this call wrote and re-raise (no blob without its row)."""
    written: list[str] = []
    try:
        for key, data in blobs:
            if blob_save(key=key, data=data):
                written.append(key)
    except BaseException:
        for key in written:
            blob_delete(key)
        raise


def sample_image_open(sample: Sample) -> Image.Image:
    """The sample's pixels as displayed (EXIF orientation applied)."""
    with blob_open(sample.image_key) as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return ImageOps.exif_transpose(image)


def _blob_is_referenced(key: str) -> bool:
    return (
        Sample.objects.filter(image_key=key).exists()
        or Sample.objects.filter(thumbnail_key=key).exists()
        or Sample.objects.filter(mask_key=key).exists()
    )


def samples_delete_for_job(*, job_id: int) -> int:
    """Undo what a failed or cancelled job ingested: its samples, aliases and now-unreferenced blobs.

    Samples that are members of any version are kept (they belong to committed work).
    """
    samples = Sample.objects.filter(import_job_id=job_id, memberships__isnull=True)
    keys = [k for row in samples.values_list("image_key", "thumbnail_key", "mask_key") for k in row if k]
    SampleAlias.objects.filter(job_id=job_id, sample__in=samples).delete()
    deleted, _ = samples.delete()
    SampleAlias.objects.filter(job_id=job_id).delete()
    for key in set(keys):
        if not _blob_is_referenced(key):
            blob_delete(key)
    return deleted
