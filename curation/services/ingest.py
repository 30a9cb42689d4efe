# Over 300 lines: decode, thumbnail, mask and store are one pipeline every image path shares (import, demo,
# synthetic), with its limits applied in one place.
"""Turning bytes into stored samples: decode safely, hash, thumbnail, store once.

Shared by every path that adds images (import, demo builder, synthetic batches). The content
hash is the sha256 of the file's original bytes, and those bytes are stored unchanged (so an
export re-imports to the same hashes); EXIF orientation is applied to the recorded width and
height, to thumbnails and by `sample_image_open`, never by rewriting the original.
"""

import contextlib
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from core.storage import blob_key, blob_open, blob_save, sha256_bytes
from curation.models import Dataset, Sample, SampleAlias, SampleSource
from curation.services.blob_claims import blob_claims_drop, blob_claims_drop_for_job, blob_claims_take, blobs_collect
from curation.services.decode_budget import decode_budget, decoded_bytes_estimate

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "TIFF": "tif", "WEBP": "webp"}
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
EXIF_ORIENTATION = 0x0112
TRANSPOSED_ORIENTATIONS = range(2, 9)
# Thumbnails are made as Image.thumbnail makes them: a box reduction leaving at least twice the final size.
REDUCING_GAP = 2.0
# Pixels converted for display at once (the float64 grey conversion holds a few copies of a tile).
DISPLAY_TILE_PIXELS = 1 << 20


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


def _to_display_rgb(image: Image.Image, *, white: float | None = None) -> Image.Image:
    """An 8-bit RGB rendering of any mode (16-bit, CMYK, palette, alpha on white).

    16/32-bit grey is scaled linearly with 65535 as white and float grey with its maximum (or `white`,
    given when `image` is a tile of a larger image), clipped and truncated to 8 bits.
    """
    if image.mode in SIXTEEN_BIT_MODES or image.mode == "F":
        image = _grey_to_l(image, white if white is not None else _grey_white(image))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _grey_white(image: Image.Image) -> float:
    if image.mode != "F":
        return 65535.0
    return max(float(image.getextrema()[1]), 1e-9)  # type: ignore[arg-type]


def _grey_to_l(image: Image.Image, white: float) -> Image.Image:
    array = np.asarray(image, dtype=np.float64)  # a tile's worth: exact, and a few MB at most
    return Image.fromarray(np.clip(array / white * 255.0, 0, 255).astype(np.uint8), mode="L")


def _thumbnail_size(size: tuple[int, int], longest: int) -> tuple[int, int] | None:
    """The size `Image.thumbnail((longest, longest))` gives (aspect kept, rounded as Pillow rounds it),
    or None when the image already fits."""
    width, height = size
    if longest >= width and longest >= height:
        return None
    aspect = width / height
    if aspect <= 1:
        x = min(math.floor(longest * aspect), math.ceil(longest * aspect), key=lambda n: abs(aspect - n / longest))
        return max(x, 1), longest
    y = min(
        math.floor(longest / aspect),
        math.ceil(longest / aspect),
        key=lambda n: 0 if n == 0 else abs(aspect - longest / n),
    )
    return longest, max(y, 1)


def _thumbnail_render(image: Image.Image, longest: int) -> Image.Image:
    """The thumbnail's pixels: what converting all of `image` for display and then `Image.thumbnail` give
    (a box reduction by an integer factor, then bicubic), made tile by tile so that no full-size converted
    copy exists: the decoded image is the only full-size buffer."""
    white = _grey_white(image)
    final_size = _thumbnail_size(image.size, longest)
    if final_size is None:
        return _to_display_rgb(image, white=white)
    width, height = image.size
    factor = (int(width / final_size[0] / REDUCING_GAP) or 1, int(height / final_size[1] / REDUCING_GAP) or 1)
    reduced = _display_reduced(image, factor, white)
    box = (0.0, 0.0, width / factor[0], height / factor[1])
    return reduced.resize(final_size, Image.Resampling.BICUBIC, box=box)


def _display_reduced(image: Image.Image, factor: tuple[int, int], white: float) -> Image.Image:
    """`image` converted for display and box-reduced by `factor`, one tile (aligned to the factor) at a time."""
    if image.mode == "RGB":
        return image.reduce(factor)
    (fx, fy), (width, height) = factor, image.size
    rows = max(1, DISPLAY_TILE_PIXELS // width // fy) * fy
    cols = width if rows * width <= DISPLAY_TILE_PIXELS else max(1, DISPLAY_TILE_PIXELS // rows // fx) * fx
    reduced = Image.new("RGB", (math.ceil(width / fx), math.ceil(height / fy)))
    for top in range(0, height, rows):
        for left in range(0, width, cols):
            tile = image.crop((left, top, min(left + cols, width), min(top + rows, height)))
            reduced.paste(_to_display_rgb(tile, white=white).reduce(factor), (left // fx, top // fy))
    return reduced


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
        with decode_budget().reserved(_decoded_bytes(image)):
            thumb = _image_load_and_thumbnail(image, thumbnail_size)
        format, mode, width, height = image.format, image.mode, image.width, image.height
    finally:
        image.close()  # frees the pixels now, even when a traceback keeps this frame alive
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=85)
    return DecodedImage(
        sha256=sha256_bytes(data),
        format=format,
        mode=mode,
        width=width,
        height=height,
        extension=ALLOWED_FORMATS[format],
        thumbnail=buffer.getvalue(),
    )


def _decoded_bytes(image: Image.Image) -> int:
    transposed = False
    raw_exif = image.info.get("exif") if image.format == "JPEG" else None  # other formats' may come only with load()
    if isinstance(raw_exif, bytes):
        with contextlib.suppress(Exception):  # a bad EXIF block is judged after load(), by exif_transpose
            exif = Image.Exif()
            exif.load(raw_exif)
            transposed = exif.get(EXIF_ORIENTATION, 1) in TRANSPOSED_ORIENTATIONS
    return decoded_bytes_estimate(mode=image.mode, size=image.size, transposed=transposed)


def _image_load_and_thumbnail(image: Image.Image, thumbnail_size: int) -> Image.Image:
    """Decode all pixels (which finds truncated data), apply the EXIF orientation in place, make the thumbnail."""
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb: {exc}")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"truncated or corrupt image data ({exc})")
    return _thumbnail_render(image, thumbnail_size)


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
    alias of the existing sample (an exact-duplicate group) and `created` is False. The blob keys
    are claimed from before they are stored until the row is in (curation/services/blob_claims.py).
    """
    decoded = decoded or image_decode(data)
    existing = Sample.objects.filter(dataset=dataset, sha256=decoded.sha256).first()
    if existing is not None:
        SampleAlias.objects.create(dataset=dataset, sample=existing, original_name=original_name, job_id=job_id)
        return IngestResult(existing, False)
    keys = sample_blob_keys(decoded, mask_png)
    claims = blob_claims_take(keys.all(), job_id=job_id)
    try:
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
            keys=keys,
        )
        with transaction.atomic():
            sample.save(force_insert=True)
            SampleAlias.objects.create(dataset=dataset, sample=sample, original_name=original_name, job_id=job_id)
            blob_claims_drop(claims)
    except BaseException:
        blob_claims_drop(claims)
        blobs_collect(keys.all())
        raise
    return IngestResult(sample, True)


@dataclass(frozen=True)
class SampleBlobKeys:
    """Where a sample's blobs go: the original, its thumbnail and (when it has one) its mask."""

    image: str
    thumbnail: str
    mask: str = ""

    def all(self) -> list[str]:
        return [key for key in (self.image, self.thumbnail, self.mask) if key]


def sample_blob_keys(decoded: DecodedImage, mask_png: bytes | None = None) -> SampleBlobKeys:
    mask_key = blob_key(sha256=sha256_bytes(mask_png), kind="masks", extension="png") if mask_png is not None else ""
    return SampleBlobKeys(
        image=blob_key(sha256=decoded.sha256, kind="images", extension=decoded.extension),
        thumbnail=blob_key(sha256=decoded.sha256, kind="thumbnails", extension="jpg"),
        mask=mask_key,
    )


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
    keys: SampleBlobKeys | None = None,
) -> Sample:
    """Store a new sample's blobs and return its row unsaved, for callers that insert rows in bulk.

    No database access (it runs on an import's decode threads). The caller knows the content hash is
    new to the dataset, has claimed the keys (`sample_blob_keys`, `blob_claims_take`) and drops the
    claims in the transaction that inserts the row (and the alias of its first name, as `sample_ingest`
    does). When a blob cannot be stored this raises, and the caller drops the claims and collects the
    keys (`blobs_collect`): a blob is deleted only once no row and no other writer needs it.
    """
    keys = keys or sample_blob_keys(decoded, mask_png)
    blob_save(key=keys.image, data=data)
    blob_save(key=keys.thumbnail, data=decoded.thumbnail)
    if mask_png is not None:
        blob_save(key=keys.mask, data=mask_png)
    return Sample(
        dataset=dataset,
        sha256=decoded.sha256,
        image_key=keys.image,
        thumbnail_key=keys.thumbnail,
        mask_key=keys.mask,
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


def sample_image_open(sample: Sample) -> Image.Image:
    """The sample's pixels as displayed (EXIF orientation applied)."""
    with blob_open(sample.image_key) as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return ImageOps.exif_transpose(image)


def samples_delete_for_job(*, job_id: int) -> int:
    """Undo what a failed or cancelled job ingested: its samples, aliases and now-unneeded blobs.

    Samples that are members of any version are kept (they belong to committed work). The blobs
    collected are those of the deleted rows and those the job still claimed (stored by an attempt
    killed before its rows were in); a blob another row or another writer's claim needs is kept.
    """
    samples = Sample.objects.filter(import_job_id=job_id, memberships__isnull=True)
    keys = {k for row in samples.values_list("image_key", "thumbnail_key", "mask_key") for k in row if k}
    SampleAlias.objects.filter(job_id=job_id, sample__in=samples).delete()
    deleted, _ = samples.delete()
    SampleAlias.objects.filter(job_id=job_id).delete()
    keys |= blob_claims_drop_for_job(job_id)
    blobs_collect(keys)
    return deleted
