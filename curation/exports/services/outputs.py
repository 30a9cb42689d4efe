"""Files an export produces: written to a local temporary file, then stored through the storage API.

Writers open one output at a time (`ExportOutputs.open(name)`), write into it as a stream, and on
leaving the block it is stored under `exports/<export id>/<name>` with its size and sha256 recorded;
the temporary file is deleted whether that worked or not. Storage backends (S3 included) take a whole
file, not appends, hence the local spool: it holds at most one output (a zip, a shard) at a time.

Choices made:
- Sequential writers (tar, CSV, JSONL) are hashed as they write; a zip (which seeks back to patch
  its headers) is hashed in one pass over the spool afterwards.
- The spool offers `temporary_file_path()`, as Django's uploaded temporary files do, so the
  file-system storage moves it into place (a rename within one file system) instead of copying;
  other backends read it like any file. Hence EXPORT_TEMP_DIR defaults to a folder under var/.
- On object storage (core.s3) the spool goes up in one PUT (multipart when large) under exactly its key,
  its sha256 the one computed while writing: not `save`'s three requests (exists, a free-name probe, the
  PUT) and second read of the spool to hash it.
"""

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from core.storage import blobs_delete, storage_keys, storage_object_put

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
    return tempfile.TemporaryFile(dir=_temp_dir(), prefix="winnow-export-")


def _temp_dir() -> str | None:
    if settings.EXPORT_TEMP_DIR:
        os.makedirs(settings.EXPORT_TEMP_DIR, exist_ok=True)
    return settings.EXPORT_TEMP_DIR


@contextmanager
def _named_spool() -> Iterator[IO[bytes]]:
    """A named temporary file, removed at the end unless the storage moved it away."""
    handle = tempfile.NamedTemporaryFile(dir=_temp_dir(), prefix="winnow-export-", delete=False)  # noqa: SIM115
    try:
        yield handle
    finally:
        handle.close()
        if os.path.exists(handle.name):
            os.unlink(handle.name)


class _SpoolFile(File):
    """The spool as Django's storage API sees it: a file with a path that may be moved into place."""

    def temporary_file_path(self) -> str:
        return str(getattr(self.file, "name", ""))


class _HashingWriter(io.RawIOBase):
    """Passes writes through to `target` and hashes them on the way (for writers that never seek)."""

    def __init__(self, target: IO[bytes]):
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self.target.write(data)

    def tell(self) -> int:
        return self.target.tell()


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
    handle.flush()
    handle.seek(0)
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, _SpoolFile(handle, name=name))
    if saved != key:  # another writer took the key meanwhile: never leave ours under a different name
        default_storage.delete(saved)
        raise OSError(f"storage key {key} was taken while this export wrote it")


class ExportOutputs:
    """The outputs of one export, in the order they were stored."""

    def __init__(self, export_id: int):
        self.export_id = export_id
        self.produced: list[ProducedFile] = []

    @contextmanager
    def open(self, name: str, *, seekable: bool = False) -> Iterator[IO[bytes]]:
        """A writable binary file, stored as `name` when the block ends without an error.

        `seekable`: the writer seeks (a zip); the file is then hashed after writing, not during.
        """
        with _named_spool() as spool:
            if seekable:
                yield spool
                digest = file_sha256(spool)
            else:
                writer = _HashingWriter(spool)
                yield writer  # type: ignore[misc]
                digest = writer.digest.hexdigest()
            self._store(name, spool, digest)

    def checksums_store(self) -> ProducedFile:
        """Store SHA256SUMS (`<sha256>  <name>` per produced file, as `sha256sum -c` reads it)."""
        data = "".join(f"{item.sha256}  {item.name}\n" for item in self.produced).encode()
        with _named_spool() as spool:
            spool.write(data)
            return self._store(CHECKSUM_FILE_NAME, spool, hashlib.sha256(data).hexdigest(), record=False)

    def _store(self, name: str, spool: IO[bytes], digest: str, *, record: bool = True) -> ProducedFile:
        spool.flush()
        size = spool.seek(0, 2)
        key = export_file_key(self.export_id, name)
        if not storage_object_put(key=key, path=Path(spool.name), sha256=digest):  # object storage: one request
            stored_save(key, spool, name=name)
        produced = ProducedFile(name=name, key=key, size=size, sha256=digest)
        if record:
            self.produced.append(produced)
        return produced


def export_files_delete(export_id: int) -> int:
    """Delete every stored file of an export (complete or partial); returns how many were deleted.

    One listing and one bulk delete (one request per 1,000 files on object storage, not one per file); raises
    BlobsNotDeleted naming any file that could not go, once the others are deleted.
    """
    keys = storage_keys(export_folder(export_id))  # [] when nothing was ever stored
    blobs_delete(keys)
    return len(keys)
