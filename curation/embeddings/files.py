"""Embedding files through Django's storage API: local paths for memory maps, checksums, prefixes.

NumPy memory maps and FAISS need a path on a local disk (core.storage.storage_local_path). When the
default storage is local (FileSystemStorage, a shared POSIX volume) files are written and read in
place: writers fill a hidden workspace beside the key and rename the file over it, so readers never
see half a file. On object storage (WINNOW_STORAGE=s3) a writer fills a local workspace whose files
are uploaded when complete, and a reader gets a checksum-verified copy from its worker's cache
(core.local_cache).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.core.files.storage import default_storage

from core.local_cache import CorruptStoredFile
from core.local_cache import file_sha256 as file_sha256
from core.storage import storage_delete_prefix as storage_delete_prefix  # the embedding services delete with it
from core.storage import storage_file_store
from core.storage import storage_is_local as storage_is_local
from core.storage import storage_local_path as stored_file_path


class CorruptEmbeddingFile(CorruptStoredFile):
    """A stored file does not match the checksum recorded when it was written."""


@contextmanager
def storage_workspace(prefix: str) -> Iterator[Path]:
    """A private local folder to assemble files in before ``storage_publish`` stores them; removed at exit.

    Local storage: a hidden folder under ``prefix`` (same file system, so publishing is a rename).
    Object storage: a temporary folder under WINNOW_VAR_DIR/tmp (beside the cache, which adopts what is published).
    """
    if storage_is_local():
        folder = Path(default_storage.path(prefix)) / f".workspace-{uuid4().hex}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    scratch = Path(settings.VAR_DIR) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="winnow-workspace-", dir=scratch) as temporary:
        yield Path(temporary)


def storage_publish(path: Path, key: str, *, sha256: str = "") -> None:
    """Store the local file ``path`` (from ``storage_workspace``) under ``key``, replacing what was there.

    Local storage: an atomic rename, so readers see the old file or the new one, never a part.
    sha256: the file's checksum when the caller computed it (object storage records it with the object).
    """
    storage_file_store(key=key, path=path, sha256=sha256)


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
    try:
        return stored_file_path(key, sha256=sha256)
    except CorruptStoredFile as exc:
        raise CorruptEmbeddingFile(f"{exc}; embed the version again") from None
