"""Builders shared by the import tests: images made with Pillow, zips and folders in tmp dirs, and a job run.

Nothing here is a test; the import test modules import these helpers and fixtures.
"""

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image

from curation.models import Dataset, DatasetVersion, Sample, SampleAlias, VersionSample
from jobs.models import Job
from jobs.services import job_create, job_execute


def image_bytes(
    color: tuple[int, ...] | int = (200, 30, 30),
    *,
    size: tuple[int, int] = (32, 24),
    mode: str = "RGB",
    format: str = "JPEG",
    exif_orientation: int | None = None,
) -> bytes:
    """A small solid image; distinct colours give distinct content hashes."""
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=format, **kwargs)
    return buffer.getvalue()


def jpeg(n: int, size: tuple[int, int] = (32, 24)) -> bytes:
    return image_bytes((n * 37 % 256, n * 91 % 256, n * 13 % 256), size=size)


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A real 1-bit palette PNG of width×height pixels, all zero: a few tens of KB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0)
    palette = b"\x00\x00\x00\xff\xff\xff"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", palette)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zip_bytes(files: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    """A zip whose members are written exactly as named (hostile names included)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def zip_file(path: Path, files: dict[str, bytes], **kwargs: Any) -> Path:
    path.write_bytes(zip_bytes(files, **kwargs))
    return path


def run_import(params: dict[str, Any], *, user: Any = None, progress_callback: Any = None) -> Job:
    """Create the import job and run it inline through the real job runner."""
    job = job_create(kind="import_dataset", params={"format": "auto", **params}, requested_by=user)
    return job_execute(job.pk, progress_callback=progress_callback)


def media_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def row_counts() -> dict[str, int]:
    return {
        "datasets": Dataset.objects.count(),
        "versions": DatasetVersion.objects.count(),
        "samples": Sample.objects.count(),
        "aliases": SampleAlias.objects.count(),
        "members": VersionSample.objects.count(),
    }


def members_by_name(version_id: int) -> dict[str, tuple[str, str, list[str]]]:
    """original name → (split, label, label names) for every member of a version."""
    members = VersionSample.objects.filter(version_id=version_id).select_related("sample")
    return {m.sample.original_name: (m.split, m.label, m.label_names) for m in members}


def report_statuses(job: Job) -> dict[str, tuple[str, str]]:
    return {line["file"]: (line["status"], line["reason"]) for line in job.result["report"]}


NOTHING = {"datasets": 0, "versions": 0, "samples": 0, "aliases": 0, "members": 0}


def source_folder(tmp_path: Path) -> Path:
    """A folder for the source files, apart from the test's media root (also under tmp_path)."""
    root = tmp_path / "source"
    root.mkdir(exist_ok=True)
    return root
