"""Worker-local copies of objects in object storage, for readers that need a path on a local disk.

NumPy memory maps, FAISS and torch.load read files by path. On object storage (WINNOW_STORAGE=s3), such a
file is downloaded once per machine into WINNOW_CACHE_DIR (default `WINNOW_VAR_DIR/cache/storage`) and
reused while it stays there. On local storage nothing comes here: the stored file is the path.

- Named by key and content: `<sha256(key)[:16]>-<content sha256><suffix>`. The content checksum is the one the
  caller recorded when the file was written (embedding sets, maps) or, when the caller has none, the one in
  the object's metadata (core.s3), so a replaced object is a new entry and a hit needs no request at all
  when the caller knows the checksum.
- Checksum-verified: a download is hashed as it is written and refused (CorruptStoredFile) when it does not
  match; a copy already in the cache is re-hashed once per process per (size, mtime) and downloaded again
  when it no longer matches (a disk error, or someone edited it).
- Size-limited: after each download, the least recently used entries (by access time, set on every use)
  are deleted until the cache holds at most WINNOW_CACHE_MAX_BYTES. An entry used in the last minute is
  kept even over the limit (another process may be about to open it), and so is the file just fetched. A
  process that has an evicted file open or memory-mapped keeps reading it (POSIX unlink semantics).
- Downloads go to a hidden partial file renamed into place, so concurrent readers (processes of one worker
  machine) see a whole file or none; two that download the same entry at once both store identical bytes.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

from django.conf import settings

if TYPE_CHECKING:
    from core.s3 import S3ObjectStorage

logger = logging.getLogger(__name__)

HASH_BLOCK = 4 * 1024 * 1024
DEFAULT_MAX_BYTES = 20 * 1024**3
RECENT_USE_S = 60.0
PARTIAL_SUFFIX = ".partial"
STALE_PARTIAL_S = 3600.0

_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256 checked in this process
_verified_lock = threading.Lock()


class CorruptStoredFile(RuntimeError):
    """A stored file does not match the checksum recorded when it was written."""


def cache_folder() -> Path:
    folder = getattr(settings, "STORAGE_CACHE_DIR", "") or Path(settings.VAR_DIR) / "cache" / "storage"
    return Path(folder)


def cache_max_bytes() -> int:
    return int(getattr(settings, "STORAGE_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, key: str, sha256: str) -> None:
    """Raise CorruptStoredFile unless the file at `path` has `sha256` (hashed once per process per version)."""
    actual = _file_digest(path, sha256)
    if actual != sha256:
        raise CorruptStoredFile(_corrupt_message(key, actual, sha256))


def _file_digest(path: Path, expected: str) -> str:
    """The file's sha256; not re-hashed when this process saw this version of it match `expected`."""
    stat = path.stat()
    fingerprint = (str(path), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if _verified.get(fingerprint) == expected:
            return expected
    actual = file_sha256(path)
    if actual == expected:
        _remember_verified(path, expected)
    return actual


def _corrupt_message(key: str, actual: str, expected: str) -> str:
    return f"{key} is corrupt: its sha256 is {actual[:12]}…, not the {expected[:12]}… recorded when it was written"


def cached_copy(storage: S3ObjectStorage, key: str, *, sha256: str = "") -> Path:
    """A verified local copy of the object `key`: from the cache, else downloaded into it.

    sha256: the checksum recorded when the file was written; without it, the object's metadata gives it
    (an object stored without one is cached under its ETag and checked against nothing but its size).
    Raises FileNotFoundError when the object is gone, CorruptStoredFile when its bytes do not match.
    """
    etag = ""
    if not sha256:
        head = storage.head(key)
        etag, sha256 = head["ETag"], head.get("Metadata", {}).get("sha256", "")
    path = cache_folder() / _entry_name(key, sha256 or etag.strip('"'))
    try:
        if not sha256 or _file_digest(path, sha256) == sha256:
            _touch(path)
            return path
        logger.warning("cached copy of %s no longer matches its checksum: downloading it again", key)
        path.unlink(missing_ok=True)
    except FileNotFoundError:  # not cached (or evicted a moment ago)
        pass
    _download(storage, key, path, sha256=sha256, etag=etag)
    cache_evict(keep=path)
    return path


def cache_adopt(key: str, path: Path, *, sha256: str) -> None:
    """Keep a file just stored under `key` (whose sha256 the writer computed) as this worker's cached copy.

    Moved when it lies on the cache's file system; left where it is otherwise (the caller deletes it).
    """
    target = cache_folder() / _entry_name(key, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(path, target)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            return
        raise
    _remember_verified(target, sha256)
    cache_evict(keep=target)


def cache_evict(*, keep: Path | None = None, max_bytes: int | None = None) -> int:
    """Delete least recently used entries until the cache fits `max_bytes` (WINNOW_CACHE_MAX_BYTES); how many."""
    limit = cache_max_bytes() if max_bytes is None else max_bytes
    now = time.time()
    entries = []
    for entry in _scan(cache_folder()):
        stat = entry.stat()
        if entry.name.endswith(PARTIAL_SUFFIX):
            if now - stat.st_mtime > STALE_PARTIAL_S:  # a download killed mid-way
                Path(entry.path).unlink(missing_ok=True)
            continue
        entries.append((stat.st_atime, stat.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in entries)
    evicted = 0
    for atime, size, path in sorted(entries, key=lambda entry: entry[0]):
        if total <= limit:
            break
        if path == keep or now - atime < RECENT_USE_S:
            continue
        path.unlink(missing_ok=True)
        total -= size
        evicted += 1
    if total > limit:
        logger.info("storage cache holds %d bytes, over its %d-byte limit: its files are in use", total, limit)
    return evicted


def _entry_name(key: str, content_id: str) -> str:
    suffix = Path(key).suffix
    return f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{content_id}{suffix}"


def _download(storage: S3ObjectStorage, key: str, path: Path, *, sha256: str, etag: str) -> None:
    """Download into a partial file beside `path`, hashing on the way; rename it into place when it matches."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid4().hex[:12]}{PARTIAL_SUFFIX}")
    try:
        with partial.open("wb") as target:
            hashing = _HashingWriter(target)
            storage.download(key, hashing, etag=etag)
        if sha256 and hashing.digest.hexdigest() != sha256:
            raise CorruptStoredFile(_corrupt_message(key, hashing.digest.hexdigest(), sha256))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if sha256:
        _remember_verified(path, sha256)


class _HashingWriter:
    def __init__(self, target: object):
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.target.write(data)  # type: ignore[attr-defined,no-any-return]


def _remember_verified(path: Path, sha256: str) -> None:
    stat = path.stat()
    with _verified_lock:
        _verified[(str(path), stat.st_size, stat.st_mtime_ns)] = sha256


def _touch(path: Path) -> None:
    """Mark a use (access time) for eviction; mtime is kept, since it is part of the verified fingerprint."""
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return [entry for entry in entries if entry.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
