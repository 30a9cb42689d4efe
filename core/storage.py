"""Content-addressed blobs in Django's storage API (never hand-built filesystem paths).

A blob's key is derived from its sha256, so identical bytes are stored once whatever the
dataset; deleting a blob is only allowed once no row references it.

Writing a blob to Django's own FileSystemStorage takes one exclusive create (`O_CREAT | O_EXCL`)
on the path the storage maps the key to, honouring its permission settings and group, instead
of `exists()` then `save()`: Django's generic save re-validates and re-joins the name several
times and probes for a free one, which cost about 0.4 ms of CPU per blob, several times the
write itself (bench/import_bench.py). Any other storage (a subclass, S3) takes the generic path.
"""

import contextlib
import hashlib
import os
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage, storages
from django.utils._os import safe_makedirs

_EXCLUSIVE_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_key(*, sha256: str, kind: str, extension: str) -> str:
    """`kind` separates originals, thumbnails and masks: `images/ab/abcd….jpg`.

    One level of 256 folders per kind, as git's object store: with a second level (65,536 folders)
    nearly every blob of an import below a few hundred thousand images created its own folder, and
    creating a folder costs more than the file: 4,000 files into fresh folders here took 1.7 to 5 times
    the system time with two levels as with one. Keys are stored in the rows, so blobs written under the
    older `kind/ab/cd/` keys stay readable (identical bytes stored before the change are stored again once).
    """
    extension = extension.lower().lstrip(".")
    return f"{kind}/{sha256[:2]}/{sha256}.{extension}"


def blob_save(*, key: str, data: bytes) -> bool:
    """Store bytes under `key` unless present. Returns True when this call wrote the blob."""
    storage = storages["default"]
    if type(storage) is FileSystemStorage:
        return _local_file_create(storage, key, data)
    if default_storage.exists(key):
        return False
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:  # a concurrent writer won the race; the content is identical by construction
        default_storage.delete(saved)
        return False
    return True


def _local_file_create(storage: FileSystemStorage, key: str, data: bytes) -> bool:
    """FileSystemStorage.save's effect for a new key, or False when the file exists (any writer's).

    A write that fails removes the partial file, so a later import never takes it for the blob.
    """
    path = storage.path(key)  # refuses a key that would leave the storage root
    fd = _exclusive_open(storage, path)
    if fd is None:
        return False
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if storage.file_permissions_mode is not None:
            os.fchmod(fd, storage.file_permissions_mode)
        _group_of_location(storage, fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return True


def _exclusive_open(storage: FileSystemStorage, path: str) -> int | None:
    """A descriptor on the new file, or None when a file already stands at `path`."""
    try:
        return os.open(path, _EXCLUSIVE_CREATE, 0o666)
    except FileExistsError:
        return None
    except FileNotFoundError:  # its folder is new
        _folder_make(storage, os.path.dirname(path))
    try:
        return os.open(path, _EXCLUSIVE_CREATE, 0o666)
    except FileExistsError:
        return None


def _folder_make(storage: FileSystemStorage, directory: str) -> None:
    """As FileSystemStorage._save creates a file's folders (with its directory permissions)."""
    try:
        if storage.directory_permissions_mode is not None:
            safe_makedirs(directory, storage.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(directory, exist_ok=True)
    except FileExistsError:
        raise FileExistsError(f"{directory} exists and is not a directory.") from None


def _group_of_location(storage: FileSystemStorage, fd: int) -> None:
    """Give the file the storage root's group, as FileSystemStorage does (shared volumes)."""
    if os.name != "posix":
        return
    location_gid = os.stat(storage.location).st_gid
    if os.fstat(fd).st_gid != location_gid:
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, location_gid)


def blob_open(key: str) -> IO[bytes]:
    return default_storage.open(key, "rb")


def blob_read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def blob_delete(key: str) -> None:
    if key and default_storage.exists(key):
        default_storage.delete(key)


def blob_url(key: str) -> str:
    return default_storage.url(key)
