"""Embedding files through Django's storage API: local paths for memory maps, checksums, prefixes.

NumPy memory maps and FAISS need a path on a local disk. When the default storage is local
(FileSystemStorage, a shared POSIX volume) the file is written and read in place through
``storage.path(key)``: writers fill a temporary sibling and rename it over the key, so readers never
see half a file. When the storage has no local paths (S3 through django-storages), a writer fills a
temporary file that is uploaded when it is complete, and a reader downloads the file once into a
local cache folder named by the file's checksum (``WINNOW_VAR_DIR/cache/embeddings``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from core.storage import storage_delete_prefix  # noqa: F401  (re-exported: the embedding services delete with it)

HASH_BLOCK = 4 * 1024 * 1024
_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256 checked in this process
_verified_lock = threading.Lock()


class CorruptEmbeddingFile(RuntimeError):
    """A stored file does not match the checksum recorded when it was written."""


def storage_is_local() -> bool:
    try:
        default_storage.path("probe")
    except NotImplementedError:
        return False
    return True


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def storage_workspace(prefix: str) -> Iterator[Path]:
    """A private local folder to assemble files in before ``storage_publish`` stores them; removed at exit.

    Local storage: a hidden folder under ``prefix`` (same file system, so publishing is a rename).
    Other storage: a temporary folder.
    """
    if storage_is_local():
        folder = Path(default_storage.path(prefix)) / f".workspace-{uuid4().hex}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with tempfile.TemporaryDirectory(prefix="winnow-workspace-") as temporary:
        yield Path(temporary)


def storage_publish(path: Path, key: str) -> None:
    """Store the local file ``path`` (from ``storage_workspace``) under ``key``, replacing what was there.

    Local storage: an atomic rename, so readers see the old file or the new one, never a part.
    """
    if storage_is_local():
        final = Path(default_storage.path(key))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)
        return
    if default_storage.exists(key):
        default_storage.delete(key)
    with path.open("rb") as handle:
        default_storage.save(key, File(handle))


@contextmanager
def storage_output(key: str) -> Iterator[Path]:
    """A local path to write ``key``'s content at; it is stored under ``key`` when the block exits cleanly."""
    with storage_workspace(key.rpartition("/")[0]) as folder:
        path = folder / key.rpartition("/")[2]
        yield path
        storage_publish(path, key)


def storage_local_path(key: str, *, sha256: str = "") -> Path:
    """A local path holding ``key``'s content: the file itself on local storage, else a cached download.

    sha256: when given, the content is checked against it (once per process per file version) and
    CorruptEmbeddingFile is raised on a mismatch; a missing file raises FileNotFoundError.
    """
    if storage_is_local():
        path = Path(default_storage.path(key))
        if not path.is_file():
            raise FileNotFoundError(f"{key} is missing from storage")
    else:
        path = _cached_download(key, sha256)
    if sha256:
        _verify(path, key, sha256)
    return path


def _cached_download(key: str, sha256: str) -> Path:
    if not default_storage.exists(key):
        raise FileNotFoundError(f"{key} is missing from storage")
    cache = Path(settings.VAR_DIR) / "cache" / "embeddings"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{sha256 or hashlib.sha256(key.encode()).hexdigest()}{Path(key).suffix}"
    if sha256 and path.is_file():
        return path
    partial = path.with_name(f".{path.name}.{uuid4().hex}.partial")
    with default_storage.open(key, "rb") as source, partial.open("wb") as target:
        shutil.copyfileobj(source, target, HASH_BLOCK)
    os.replace(partial, path)
    return path


def _verify(path: Path, key: str, sha256: str) -> None:
    stat = path.stat()
    fingerprint = (str(path), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if _verified.get(fingerprint) == sha256:
            return
    actual = file_sha256(path)
    if actual != sha256:
        raise CorruptEmbeddingFile(
            f"{key} is corrupt: its sha256 is {actual[:12]}…, not the {sha256[:12]}… recorded when it was written; "
            "embed the version again"
        )
    with _verified_lock:
        _verified[fingerprint] = sha256
