"""Sample media behind authentication: the original image, its thumbnail, its mask and a mask overlay.

Blobs are streamed through the storage API. They are content-addressed and a sample's files
never change, so responses may be cached for a year — privately, since they need a login.
"""

import io
import mimetypes
import re

import numpy as np
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from PIL import Image, ImageFilter

from core.roles import Capability, capability_required
from core.storage import blob_open, blob_read
from curation.models import Sample

CACHE_CONTROL = "private, max-age=31536000, immutable"
# Overlay colour (RGB) and opacities of the object's fill and its outline.
OVERLAY_RGB = (236, 28, 120)
OVERLAY_COLOUR = re.compile(r"[0-9a-f]{6}")  # ?colour=RRGGBB: the sample's class colour (the sample page sends it)
OVERLAY_FILL_ALPHA = 110
OVERLAY_EDGE_ALPHA = 255


def _sample_or_404(sample_id: int) -> Sample:
    return get_object_or_404(Sample, pk=sample_id)


def _cached(response: HttpResponseBase, etag: str) -> HttpResponseBase:
    response["Cache-Control"] = CACHE_CONTROL
    response["ETag"] = etag
    return response


def _not_modified(request: HttpRequest, etag: str) -> bool:
    return etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]


def _blob_response(request: HttpRequest, key: str, *, etag: str, filename: str | None = None) -> HttpResponseBase:
    if not key:
        raise Http404("No such file for this sample.")
    if _not_modified(request, etag):
        return _cached(HttpResponseNotModified(), etag)
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    try:
        handle = blob_open(key)
    except FileNotFoundError:
        raise Http404("The file is missing from storage.")
    if filename is None:
        response = FileResponse(handle, content_type=content_type)
    else:
        response = FileResponse(handle, content_type=content_type, as_attachment=True, filename=filename)
    return _cached(response, etag)


@capability_required(Capability.VIEW)
def sample_image(request: HttpRequest, sample_id: int) -> HttpResponseBase:
    """The original file, unchanged; `?download=1` sends it as an attachment under its original name."""
    sample = _sample_or_404(sample_id)
    filename = None
    if request.GET.get("download"):
        filename = sample.original_name.rsplit("/", 1)[-1] or sample.image_key.rsplit("/", 1)[-1]
    return _blob_response(request, sample.image_key, etag=f'"{sample.sha256}-image"', filename=filename)


@capability_required(Capability.VIEW)
def sample_thumbnail(request: HttpRequest, sample_id: int) -> HttpResponseBase:
    sample = _sample_or_404(sample_id)
    return _blob_response(request, sample.thumbnail_key, etag=f'"{sample.sha256}-thumbnail"')


@capability_required(Capability.VIEW)
def sample_mask(request: HttpRequest, sample_id: int) -> HttpResponseBase:
    """The object mask as stored: an 8-bit PNG, 255 on the object; 404 when the sample has none."""
    sample = _sample_or_404(sample_id)
    return _blob_response(request, sample.mask_key, etag=f'"{sample.sha256}-mask"')


@capability_required(Capability.VIEW)
def sample_mask_overlay(request: HttpRequest, sample_id: int) -> HttpResponseBase:
    """The mask as a transparent RGBA PNG (translucent fill, opaque outline) to lay over the image."""
    sample = _sample_or_404(sample_id)
    if not sample.mask_key:
        raise Http404("This sample has no mask.")
    colour = request.GET.get("colour", "").lower()
    rgb = bytes.fromhex(colour) if OVERLAY_COLOUR.fullmatch(colour) else bytes(OVERLAY_RGB)
    etag = f'"{sample.sha256}-overlay-{rgb.hex()}"'
    if _not_modified(request, etag):
        return _cached(HttpResponseNotModified(), etag)
    response = HttpResponse(mask_overlay_png(blob_read(sample.mask_key), rgb=tuple(rgb)), content_type="image/png")
    return _cached(response, etag)


def mask_overlay_png(mask_png: bytes, rgb: tuple[int, ...] = OVERLAY_RGB) -> bytes:
    """Colour the object (mask > 127) translucently and its one-pixel outline opaquely, in `rgb`."""
    mask = Image.open(io.BytesIO(mask_png)).convert("L").point(lambda value: 255 if value > 127 else 0)
    inside = np.asarray(mask) > 0
    eroded = np.asarray(mask.filter(ImageFilter.MinFilter(3))) > 0
    alpha = np.zeros(inside.shape, dtype=np.uint8)
    alpha[inside] = OVERLAY_FILL_ALPHA
    alpha[inside & ~eroded] = OVERLAY_EDGE_ALPHA
    rgba = np.zeros((*inside.shape, 4), dtype=np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = alpha
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
