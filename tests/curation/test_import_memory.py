"""Decode memory: small files of large dimensions, the tiled display conversion, and the decode budget."""

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from core.storage import blob_read
from curation.models import Sample
from curation.services import ingest
from curation.services.decode_budget import DecodeBudget, decode_budget
from curation.services.ingest import _thumbnail_render, _thumbnail_size, _to_display_rgb, image_decode
from tests.factories import UserFactory
from tests.worker import worker_database_url

# The target for an import of the two files below together (before: 1.8-2.4 GB), fixed before measuring.
PEAK_RSS_LIMIT_BYTES = 1_000_000_000
SIDE = 7000  # 49 Mpx each: within the default limit of 50 Mpx

# The child runs the real command and reports its own peak RSS (RUSAGE_CHILDREN of a process with one child).
MEASURED_CHILD = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-3000:],
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def int32_tiff(side: int) -> bytes:
    """A grey "I" TIFF: black, a 30000 block, a 60000 block and a ramp along the left edge (deflate: ~400 KB)."""
    pixels = np.zeros((side, side), dtype=np.int32)
    pixels[1000:3000, 1000:5000] = 30000
    pixels[4000:6000, 2000:6500] = 60000
    pixels[:, :50] = np.arange(side, dtype=np.int32)[:, None] * 9
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="I").save(buffer, format="TIFF", compression="tiff_deflate")
    return buffer.getvalue()


def flat_rgba_png(side: int) -> bytes:
    """A mostly flat RGBA PNG: blue, a half-transparent red block and a fully transparent band (~200 KB)."""
    pixels = np.full((side, side, 4), (40, 120, 200, 255), dtype=np.uint8)
    pixels[2000:5000, 1000:6000] = (250, 10, 10, 128)
    pixels[6000:6800, :, 3] = 0
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGBA").save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def import_in_child(source: Path, *, name: str, var_dir: Path) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "WINNOW_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "WINNOW_VAR_DIR": str(var_dir),
    }
    command = [sys.executable, "-c", MEASURED_CHILD, sys.executable, "manage.py", "import_dataset", str(source)]
    done = subprocess.run(
        [*command, "--name", name], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def thumbnail_pixel(sample: Sample, xy: tuple[float, float]) -> tuple[int, ...]:
    """The thumbnail's pixel at a fraction (x, y) of its width and height."""
    thumbnail = Image.open(io.BytesIO(blob_read(sample.thumbnail_key)))
    return thumbnail.getpixel((int(xy[0] * thumbnail.width), int(xy[1] * thumbnail.height)))  # type: ignore[return-value]


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 4) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_import_of_two_small_files_of_large_dimensions_peaks_under_1_gb(tmp_path: Path):
    # given a 7000×7000 int32 TIFF and a 7000×7000 RGBA PNG of a few hundred KB each, and an admin for the command
    UserFactory(username="admin", is_superuser=True)
    folder = tmp_path / "source" / "big"
    folder.mkdir(parents=True)
    (folder / "grey.tif").write_bytes(int32_tiff(SIDE))
    (folder / "flat.png").write_bytes(flat_rgba_png(SIDE))
    assert max(path.stat().st_size for path in folder.iterdir()) < 1_000_000
    # when `manage.py import_dataset` imports both in a process of its own
    child = import_in_child(tmp_path / "source", name="large dimensions", var_dir=tmp_path / "var")
    # then it succeeded within the memory target
    assert child["returncode"] == 0, child["stderr"]
    assert json.loads(child["stdout"].strip().splitlines()[-1])["imported"] == 2
    assert child["maxrss_kib"] * 1024 <= PEAK_RSS_LIMIT_BYTES
    # and the samples carry their sizes and formats, with thumbnails that look as before
    samples = {sample.original_name: sample for sample in Sample.objects.all()}
    metadata = {name: (s.width, s.height, s.format, s.mode) for name, s in samples.items()}
    assert metadata == {"big/grey.tif": (SIDE, SIDE, "TIFF", "I"), "big/flat.png": (SIDE, SIDE, "PNG", "RGBA")}
    grey, flat = samples["big/grey.tif"], samples["big/flat.png"]
    assert Image.open(io.BytesIO(blob_read(grey.thumbnail_key))).size == (160, 160)
    # 65535 is white: 30000 -> 116, 60000 -> 233
    assert near(thumbnail_pixel(grey, (0.3, 0.3)), (116, 116, 116))
    assert near(thumbnail_pixel(grey, (0.6, 0.7)), (233, 233, 233))
    assert near(thumbnail_pixel(grey, (0.9, 0.1)), (0, 0, 0))
    # alpha over white: opaque blue, red at alpha 128, white where transparent
    assert near(thumbnail_pixel(flat, (0.1, 0.1)), (40, 120, 200))
    assert near(thumbnail_pixel(flat, (0.5, 0.5)), (252, 132, 132))
    assert near(thumbnail_pixel(flat, (0.5, 0.91)), (255, 255, 255))


def grey_image(mode: str, values: list) -> Image.Image:
    dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
    image = Image.fromarray(np.array([values], dtype=dtype))
    assert image.mode == mode
    return image


@pytest.mark.parametrize(
    ("mode", "values", "expected"),
    [
        # 65535 is white; x * 255 / 65535 truncated: 256 -> 0.996 -> 0, 257 -> 1, 32768 -> 127.5 -> 127
        ("I;16", [0, 256, 257, 32768, 65535], [0, 0, 1, 127, 255]),
        # 32-bit: the same scale, clipped: -5 -> 0, 1000 -> 3.89 -> 3, 70000 -> 272 -> 255
        ("I", [-5, 1000, 32768, 65535, 70000], [0, 3, 127, 255, 255]),
        # float: the image's maximum is white: 0.5 / 2 -> 63.75 -> 63, 1 / 2 -> 127.5 -> 127
        ("F", [-1.0, 0.0, 0.5, 1.0, 2.0], [0, 0, 63, 127, 255]),
    ],
)
def test_grey_of_16_and_32_bits_is_scaled_as_before(mode, values, expected):
    # given a one-row grey image of that mode
    image = grey_image(mode, values)
    # when it is rendered for display
    rendered = _to_display_rgb(image)
    # then every pixel is grey, at the values the float64 conversion gave before
    assert rendered.mode == "RGB"
    assert [rendered.getpixel((x, 0)) for x in range(len(values))] == [(v, v, v) for v in expected]


def test_a_float_tile_is_scaled_by_the_whole_image_maximum():
    # given a tile of a float image whose maximum (2.0) lies outside the tile
    tile = grey_image("F", [0.5, 1.0])
    # when the tile is rendered with the image's white
    rendered = _to_display_rgb(tile, white=2.0)
    # then its values are those of the whole image's scale, not the tile's
    assert [rendered.getpixel((x, 0)) for x in range(2)] == [(63, 63, 63), (127, 127, 127)]


def reference_thumbnail(image: Image.Image, longest: int) -> Image.Image:
    """The old way: convert the whole image for display (float64 for grey), then Image.thumbnail."""
    if image.mode in ingest.SIXTEEN_BIT_MODES or image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" else max(float(array.max()), 1e-9)
        image = Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((longest, longest))
    return thumbnail


def random_image(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    if mode == "I":
        return Image.fromarray(rng.integers(-1000, 90000, (height, width), dtype=np.int32))
    if mode == "F":
        return Image.fromarray(rng.normal(5, 3, (height, width)).astype(np.float32))
    rgba = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), mode="RGBA")
    if mode == "P":
        palette = rgba.convert("RGB").quantize(32)
        palette.info["transparency"] = 3
        return palette
    return rgba.convert(mode)


@pytest.mark.parametrize("mode", ["I;16", "I", "F", "RGBA", "LA", "P", "RGB", "L", "CMYK"])
@pytest.mark.parametrize("size", [(1003, 517), (517, 1003), (2000, 9), (150, 90), (700, 700)])
def test_the_tiled_thumbnail_has_the_pixels_of_the_whole_image_conversion(monkeypatch, mode, size):
    # given an image of that mode, and tiles small enough that it takes many (with partial blocks at the edges)
    image = random_image(mode, size, seed=size[0])
    monkeypatch.setattr(ingest, "DISPLAY_TILE_PIXELS", 5000)
    # when its thumbnail is rendered tile by tile
    thumbnail = _thumbnail_render(image, 160)
    # then it is pixel for pixel what converting the whole image and Image.thumbnail give
    reference = reference_thumbnail(image, 160)
    assert thumbnail.size == reference.size
    assert np.array_equal(np.asarray(thumbnail), np.asarray(reference))


@pytest.mark.parametrize(
    "size", [(7000, 7000), (6000, 4000), (4000, 6000), (161, 10), (10, 161), (160, 160), (9999, 1)]
)
def test_the_thumbnail_size_is_the_one_image_thumbnail_gives(size):
    # given an image size; when its thumbnail size is computed without an image
    computed = _thumbnail_size(size, 160)
    # then it is Pillow's (None when the image already fits)
    image = Image.new("1", size)
    image.thumbnail((160, 160))
    assert computed == (None if image.size == size else image.size)


def test_a_reservation_waits_until_the_bytes_fit_and_a_larger_one_is_cut_to_the_capacity():
    # given a budget of 100 bytes with 60 reserved
    budget = DecodeBudget(100)
    first = budget.acquire(60)
    # when 50 more are asked for without blocking, then refused; 40 fit
    assert budget.acquire(50, blocking=False) is None
    assert budget.acquire(40, blocking=False) == 40
    budget.release(40)
    # when a blocking reservation of 50 waits on a thread and the 60 are released
    reserved: list[int | None] = []
    waiter = threading.Thread(target=lambda: reserved.append(budget.acquire(50)))
    waiter.start()
    budget.release(first)  # type: ignore[arg-type]
    waiter.join(timeout=30)
    # then it got them; and a reservation above the capacity is cut to it once the budget is free
    assert (reserved, budget.in_use) == ([50], 50)
    budget.release(50)
    assert budget.acquire(10**12, blocking=False) == 100


class RecordingBudget(DecodeBudget):
    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.reservations: list[int] = []

    def acquire(self, nbytes: int, *, blocking: bool = True) -> int | None:
        self.reservations.append(nbytes)
        return super().acquire(nbytes, blocking=blocking)


def encoded(image: Image.Image, format: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **kwargs)
    return buffer.getvalue()


def test_image_decode_reserves_its_decoded_bytes_and_returns_them(monkeypatch):
    # given a recording budget, and images of several modes (one JPEG rotated by its EXIF orientation)
    budget = RecordingBudget(10**9)
    monkeypatch.setattr(ingest, "decode_budget", lambda: budget)
    exif = Image.Exif()
    exif[0x0112] = 6
    files = [
        encoded(Image.new("RGBA", (300, 200)), "PNG"),
        encoded(Image.new("I;16", (300, 200)), "PNG"),
        encoded(Image.new("L", (300, 200)), "PNG"),
        encoded(Image.new("RGB", (300, 200)), "JPEG", exif=exif.tobytes()),
    ]
    # when each is decoded
    decoded = [image_decode(data) for data in files]
    # then each reserved its pixels' bytes in Pillow's storage (twice for the transposed one), all released after
    assert budget.reservations == [300 * 200 * 4, 300 * 200 * 2, 300 * 200, 300 * 200 * 4 * 2]
    assert budget.in_use == 0
    assert [(d.width, d.height) for d in decoded] == [(300, 200)] * 3 + [(200, 300)]


def test_the_process_budget_follows_the_setting(settings):
    # given the setting at 1 MiB; when the process budget is asked for, then it has that capacity
    settings.IMPORT_DECODE_BUDGET_BYTES = 2**20
    assert decode_budget().capacity == 2**20
    # and a rejected file releases its reservation
    with pytest.raises(ingest.ImageRejected):
        image_decode(encoded(Image.new("RGB", (64, 64)), "PNG")[:-30])
    assert decode_budget().in_use == 0
