"""Files an export produces: written to a local temporary file, then stored through the storage API.

Writers open one output at a time (`ExportOutputs.open(name)`), write into it as a stream, and on
leaving the block it is hashed, stored under `exports/<export id>/<name>` and recorded; the
temporary file is deleted whether that worked or not. Storage backends (S3 included) take a whole
file, not appends, hence the local spool: it holds at most one output (a zip, a shard) at a time.
"""

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

COPY_CHUNK_BYTES = 1024 * 1024
CHECKSUM_FILE_NAME = "SHA256SUMS"


@dataclass(frozen=True)
class ProducedFile:
    name: str
    key: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def export_folder(export_id: int) -> str:
    return f"exports/{export_id}"


def export_file_key(export_id: int, name: str) -> str:
    return f"{export_folder(export_id)}/{name}"


def spool_file() -> IO[bytes]:
    """A temporary file in EXPORT_TEMP_DIR (the system's temp folder when unset), gone once closed."""
    return tempfile.TemporaryFile(dir=settings.EXPORT_TEMP_DIR, prefix="winnow-export-")


def file_sha256(handle: IO[bytes]) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    while chunk := handle.read(COPY_CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def blob_copy(key: str, destination: IO[bytes]) -> None:
    """Stream a stored blob into `destination` in chunks (never whole in memory)."""
    with default_storage.open(key, "rb") as source:
        shutil.copyfileobj(source, destination, COPY_CHUNK_BYTES)


def stored_save(key: str, handle: IO[bytes], *, name: str) -> None:
    """Store `handle`'s bytes under exactly `key` (a leftover at that key from a lost attempt is replaced)."""
    handle.seek(0)
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, File(handle, name=name))
    if saved != key:  # another writer took the key meanwhile: never leave ours under a different name
        default_storage.delete(saved)
        raise OSError(f"storage key {key} was taken while this export wrote it")


class ExportOutputs:
    """The outputs of one export, in the order they were stored."""

    def __init__(self, export_id: int):
        self.export_id = export_id
        self.produced: list[ProducedFile] = []

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """A writable, seekable binary file; stored as `name` when the block ends without an error."""
        key = export_file_key(self.export_id, name)
        with spool_file() as spool:
            yield spool
            spool.flush()
            size = spool.seek(0, 2)
            digest = file_sha256(spool)
            stored_save(key, spool, name=name)
        self.produced.append(ProducedFile(name=name, key=key, size=size, sha256=digest))

    def checksums_store(self) -> ProducedFile:
        """Store SHA256SUMS (`<sha256>  <name>` per produced file, as `sha256sum -c` reads it)."""
        lines = "".join(f"{item.sha256}  {item.name}\n" for item in self.produced)
        key = export_file_key(self.export_id, CHECKSUM_FILE_NAME)
        with spool_file() as spool:
            spool.write(lines.encode())
            size = spool.tell()
            digest = file_sha256(spool)
            stored_save(key, spool, name=CHECKSUM_FILE_NAME)
        return ProducedFile(name=CHECKSUM_FILE_NAME, key=key, size=size, sha256=digest)


def export_files_delete(export_id: int) -> int:
    """Delete every stored file of an export (complete or partial); returns how many were deleted."""
    folder = export_folder(export_id)
    try:
        _, names = default_storage.listdir(folder)
    except FileNotFoundError:  # nothing was ever stored (object stores just list nothing)
        return 0
    for name in names:
        default_storage.delete(f"{folder}/{name}")
    return len(names)
