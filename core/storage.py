# Over 300 lines: every blob read and write goes through here, and the local-file durability path (temporary write,
# fsync, link, group) mirrors the generic one beside it.
"""Content-addressed blobs in Django's storage API (never hand-built filesystem paths).

A blob's key is derived from its sha256, so identical bytes are stored once whatever the
dataset; deleting a blob is only allowed once no row references it and no writer has claimed it
(curation/services/blob_claims.py).

Writing a blob to Django's own FileSystemStorage is atomic and durable: the bytes go to a hidden
temporary file in the key's folder, which is fsynced, then hard-linked onto the key (the link fails
when another writer got there first, so exactly one writer stores a new key), and the folder is
fsynced. A process killed mid-write leaves at most a temporary file (`.<name>.<random>.tmp`, removed
by `manage.py verify_blobs --repair`), never a partial file under the key. The direct path honours the
storage's permission settings and group, and stays cheaper than Django's generic save, which
re-validates and re-joins the name several times and probes for a free one (about 0.4 ms of CPU per
blob, bench/import_bench.py). Object storage (core.s3, whose PUT is atomic) takes one HEAD, and one PUT
when the key holds no intact copy; any other storage (a subclass) takes the generic path.

A file already under the key is not trusted blindly: it counts as the blob only when its size is the
size of the bytes being saved and, when it is small enough to compare cheaply (BLOB_COMPARE_MAX_BYTES:
thumbnails, masks, small images), its bytes are equal. Otherwise (a truncated or 0-byte file that an
older writer, a full disk or a crash left) it is replaced, atomically. A same-size corruption of a
larger blob is left to `verify_blobs`, which re-hashes every blob that rows reference.
"""

import contextlib
import errno
import hashlib
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages
from django.utils._os import safe_makedirs

from core.local_cache import cache_adopt, cached_copy, file_sha256, verify_file

if TYPE_CHECKING:
    from core.s3 import S3ObjectStorage

BLOB_COMPARE_MAX_BYTES = 64 * 1024
SHA256_METADATA_KEY = "sha256"  # core.s3.SHA256_METADATA (not imported: that would load boto3)
TEMPORARY_SUFFIX = ".tmp"
HASH_CHUNK_BYTES = 1024 * 1024
_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_EXCLUSIVE_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS
_FOLDER_OPEN = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
# link() is refused on some file systems (FUSE, SMB, FAT): the temporary is then renamed onto the key.
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


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


def blob_save(*, key: str, data: bytes, replace: bool = False) -> bool:
    """Store bytes under `key` unless an intact copy is there already.

    Returns True when this call wrote the blob: a new key, or the replacement of a damaged file
    (another size, or other bytes where comparing is cheap); False when an intact copy was kept.
    With `replace`, whatever stands under the key is replaced (atomically, on FileSystemStorage).
    """
    storage = storages["default"]
    if type(storage) is FileSystemStorage:
        return _local_file_store(storage, key, data, replace=replace)
    objects = _loaded_object_storage(storage)
    if objects is not None:
        return _object_store(objects, key, data, replace=replace)
    return _generic_store(storage, key, data, replace=replace)


def _object_store(storage: "S3ObjectStorage", key: str, data: bytes, *, replace: bool) -> bool:
    """One HEAD (size and recorded sha256 of what stands under the key), then one PUT unless it is intact.

    The generic path costs three requests for a new blob (exists, `save`'s free-name probe, the PUT) and up
    to four for a stored one (exists, size, then a GET to compare small blobs).
    """
    digest = sha256_bytes(data)
    if not replace:
        try:
            head = storage.head(key)
        except FileNotFoundError:
            head = None
        if head is not None and int(head["ContentLength"]) == len(data):
            recorded = head.get("Metadata", {}).get(SHA256_METADATA_KEY, "")
            if recorded == digest or (not recorded and _stored_copy_is_intact(storage, key, data)):
                return False
    storage.store_bytes(key, data, sha256=digest)
    return True


def _generic_store(storage: Storage, key: str, data: bytes, *, replace: bool) -> bool:
    if storage.exists(key):
        if not replace and _stored_copy_is_intact(storage, key, data):
            return False
        storage.delete(key)  # a damaged copy: the storage's save would otherwise pick another name
    saved = storage.save(key, ContentFile(data))
    if saved != key:  # a concurrent writer won the race; the content is identical by construction
        storage.delete(saved)
        return False
    return True


def _stored_copy_is_intact(storage: Storage, key: str, data: bytes) -> bool:
    if storage.size(key) != len(data):
        return False
    if len(data) > BLOB_COMPARE_MAX_BYTES:
        return True
    with storage.open(key, "rb") as handle:
        return handle.read() == data


def _local_file_store(storage: FileSystemStorage, key: str, data: bytes, *, replace: bool) -> bool:
    """FileSystemStorage.save's effect, atomically and durably; False when an intact copy stands at the key."""
    path = storage.path(key)  # refuses a key that would leave the storage root
    if not replace and _local_file_is_intact(path, data):
        return False
    directory, name = os.path.split(path)
    temporary = _temporary_write(storage, directory, name, data)
    try:
        if replace:
            os.replace(temporary, path)
            written = True
        else:
            written = _temporary_publish(temporary, path, data)
    finally:
        with contextlib.suppress(FileNotFoundError):  # linked (or renamed) onto the key, or not needed
            os.unlink(temporary)
    if written:
        _folder_sync(directory)
    return written


def _local_file_is_intact(path: str, data: bytes) -> bool:
    """Whether the file at `path` holds `data`: its size, and its bytes when comparing them is cheap."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return False
    if size != len(data):
        return False
    if size > BLOB_COMPARE_MAX_BYTES:
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(size + 1) == data
    except (FileNotFoundError, IsADirectoryError):
        return False


def _temporary_write(storage: FileSystemStorage, directory: str, name: str, data: bytes) -> str:
    """Write `data` to a new hidden file beside the key, with the storage's mode and group, and fsync it.

    A write that fails removes the file; a killed process leaves it, under a name no key ever has.
    """
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:16]}{TEMPORARY_SUFFIX}")
    fd = _exclusive_open(storage, directory, temporary)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if storage.file_permissions_mode is not None:
            os.fchmod(fd, storage.file_permissions_mode)
        _group_of_location(storage, fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temporary)
        raise
    os.close(fd)
    return temporary


def _temporary_publish(temporary: str, path: str, data: bytes) -> bool:
    """Put the complete temporary file under the key: linked when the key is free, renamed over a damaged file."""
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:  # another writer's copy, or a damaged file an older writer left
        if _local_file_is_intact(path, data):
            return False
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    os.replace(temporary, path)
    return True


def _exclusive_open(storage: FileSystemStorage, directory: str, path: str) -> int:
    try:
        return os.open(path, _EXCLUSIVE_CREATE, 0o666)
    except FileNotFoundError:  # its folder is new
        _folder_make(storage, directory)
    return os.open(path, _EXCLUSIVE_CREATE, 0o666)


def _folder_make(storage: FileSystemStorage, directory: str) -> None:
    """As FileSystemStorage._save creates a file's folders (with its directory permissions), durably."""
    created = []
    folder = directory
    while not os.path.lexists(folder):
        created.append(folder)
        folder = os.path.dirname(folder)
    try:
        if storage.directory_permissions_mode is not None:
            safe_makedirs(directory, storage.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(directory, exist_ok=True)
    except FileExistsError:
        raise FileExistsError(f"{directory} exists and is not a directory.") from None
    for folder in reversed(created):  # a new folder's entry is durable once its parent is synced
        _folder_sync(os.path.dirname(folder))


def _folder_sync(directory: str) -> None:
    if os.name != "posix":  # folders cannot be opened for fsync elsewhere
        return
    fd = os.open(directory, _FOLDER_OPEN)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def blob_open_at(key: str, start: int) -> File:
    """The stored blob opened for reading at byte `start`, its size in `.size`; FileNotFoundError when it is gone.

    Object storage: one GET, of the range from `start` to the end when `start` is not 0 (not `open`'s GET of the
    whole object, dropped by the seek that follows, and a second, ranged, GET), the size taken from its response.
    """
    objects = _loaded_object_storage(storages["default"])
    if objects is not None:
        return objects.open_from(key, start)
    handle: File = default_storage.open(key, "rb")
    handle.seek(start)
    return handle


def blob_read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def blob_delete(key: str) -> None:
    """Delete the blob under `key`; nothing stored there (or a blank key) is no error.

    As blobs_delete (one request on object storage, no HEAD before it); BlobsNotDeleted when it cannot go.
    """
    if key:
        blobs_delete([key])


class BlobsNotDeleted(OSError):
    """Some blobs could not be deleted (the others are gone): `errors` maps each such key to the storage's reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        shown = "; ".join(f"{key}: {reason}" for key, reason in list(errors.items())[:10])
        more = f" and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} blobs not deleted: {shown}{more}")


def blobs_delete(keys: Iterable[str]) -> None:
    """Delete the blobs of `keys` in bulk; a key with nothing stored is no error (blank keys are ignored).

    Object storage (core.s3): one DeleteObjects request per 1,000 keys. FileSystemStorage: each key's file unlinked
    at its path inside the storage root, every path checked before the first unlink (`_local_paths`), without
    FileSystemStorage.delete's folder test and the full safe_join per key, which made half of the deletion job's
    collector time (1M keys). Any other storage: its `delete` per key. Every key is tried; BlobsNotDeleted then
    names each one that failed and why.
    """
    wanted = [key for key in keys if key]
    storage = storages["default"]
    objects = _loaded_object_storage(storage)
    if objects is not None:
        errors = objects.delete_many(wanted)
    elif type(storage) is FileSystemStorage:
        errors = _local_files_delete(_local_paths(storage, wanted))
    else:
        for key in wanted:
            storage.delete(key)
        errors = {}
    if errors:
        raise BlobsNotDeleted(errors)


def _local_paths(storage: FileSystemStorage, keys: list[str]) -> dict[str, str]:
    """Each key's path, as FileSystemStorage.path (safe_join) gives it: the key joined to the storage root and
    normalised, refused (SuspiciousFileOperation) unless it lies inside the root; the root resolved once."""
    root = os.path.abspath(storage.location)
    inside = root if os.path.dirname(root) == root else root + os.sep  # the file system's root: any absolute path
    paths = {}
    for key in keys:
        path = os.path.abspath(os.path.join(root, key))
        if not path.startswith(inside):
            raise SuspiciousFileOperation(f"The joined path ({path}) is located outside of the base path ({root})")
        paths[key] = path
    return paths


def _local_files_delete(paths: dict[str, str]) -> dict[str, str]:
    """Unlink each path; a missing file is no error. Returns {key: reason} for the files that could not go."""
    errors = {}
    for key, path in paths.items():
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):  # nothing stored: no such file, or a file where a folder goes
            pass
        except OSError as exc:  # a folder under the key (blob keys name files), a permission refused…
            errors[key] = f"{type(exc).__name__}: {exc.strerror or exc}"
    return errors


def blob_url(key: str) -> str:
    return default_storage.url(key)


def blob_size(key: str) -> int | None:
    """The stored blob's size in bytes, or None when nothing is stored under `key`."""
    objects = _loaded_object_storage(storages["default"])
    if objects is not None:  # one HEAD, not exists() and size()
        try:
            return int(objects.head(key)["ContentLength"])
        except FileNotFoundError:
            return None
    try:
        return default_storage.size(key)
    except (FileNotFoundError, NotADirectoryError):  # no such file, or a file where the key's folder goes
        return None


def blob_sha256(key: str) -> str:
    """The sha256 of the stored bytes, read in chunks (a blob may be large)."""
    digest = hashlib.sha256()
    with default_storage.open(key, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def storage_is_local() -> bool:
    """Whether stored files are files on a local (or shared POSIX) disk, named by the storage's `path`."""
    try:
        storages["default"].path("probe")
    except NotImplementedError:  # object storage (WINNOW_STORAGE=s3)
        return False
    return True


def storage_local_path(key: str, *, sha256: str = "") -> Path:
    """A path on this machine holding `key`'s content, for readers that need one (memory maps, FAISS, torch).

    Local storage: the stored file itself (no copy). Object storage: a verified copy in this worker's
    cache (core.local_cache), downloaded when missing. sha256: the checksum recorded when the file was
    written; when given it is checked (CorruptStoredFile on a mismatch). FileNotFoundError when it is gone.
    """
    if not storage_is_local():
        return cached_copy(_object_storage(), key, sha256=sha256)
    path = Path(storages["default"].path(key))
    if not path.is_file():
        raise FileNotFoundError(f"{key} is missing from storage")
    if sha256:
        verify_file(path, key, sha256)
    return path


def storage_file_store(*, key: str, path: Path, sha256: str = "") -> None:
    """Store the local file at `path` under `key`, replacing whatever is there; `path` is consumed.

    Local storage: renamed into place (atomic: readers see the old file or the new one), copied first when
    it lies on another file system. Object storage: streamed up (multipart for large files) with its
    sha256 in the object's metadata, then kept as this worker's cached copy when `sha256` is known.
    """
    if storage_is_local():
        target = Path(storages["default"].path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:16]}{TEMPORARY_SUFFIX}")
            shutil.copyfile(path, partial)
            os.replace(partial, target)
            path.unlink()
        return
    storage = _object_storage()
    storage.store_file(key, path, sha256=sha256 or file_sha256(path))
    if sha256:
        cache_adopt(key, path, sha256=sha256)
    path.unlink(missing_ok=True)


def storage_object_put(*, key: str, path: Path, sha256: str) -> bool:
    """On object storage, upload the local file at `path` under exactly `key` and return True; else False.

    One PUT (a multipart upload for a large file) that replaces any object under the key, with `sha256` (the
    caller's, computed as it wrote the file) recorded: no existence probe, no free-name probe, no second pass
    over the file to hash it. The file is left in place and not cached (exports: written once, read elsewhere).
    """
    objects = _loaded_object_storage(storages["default"])
    if objects is None:
        return False
    objects.store_file(key, path, sha256=sha256)
    return True


def storage_keys(prefix: str) -> list[str]:
    """Every key under the folder `prefix`, recursively, sorted; [] when there is none.

    `storage.exists(folder)` cannot say whether a folder holds files: object stores have no folders.
    """
    prefix = prefix.rstrip("/")
    if not storage_is_local():
        return sorted(_object_storage().keys(prefix))
    try:
        folders, files = storages["default"].listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return []
    nested = [key for folder in folders for key in storage_keys(f"{prefix}/{folder}")]
    return sorted([f"{prefix}/{name}" for name in files] + nested)


def _loaded_object_storage(storage: Storage) -> "S3ObjectStorage | None":
    """`storage` when it is core.s3's object storage, else None; never imports boto3 (no S3 storage without it)."""
    s3 = sys.modules.get("core.s3")
    return storage if s3 is not None and isinstance(storage, s3.S3ObjectStorage) else None


def _object_storage() -> "S3ObjectStorage":
    from core.s3 import S3ObjectStorage  # noqa: PLC0415 - boto3 loads only where object storage is configured

    storage = storages["default"]
    if not isinstance(storage, S3ObjectStorage):
        raise TypeError(f"{type(storage).__name__} has no local paths and is not core.s3.S3ObjectStorage")
    return storage


def blob_temporaries(prefixes: tuple[str, ...], *, older_than_s: float) -> Iterator[str]:
    """Keys of temporary files that writers killed mid-write left under `prefixes` (FileSystemStorage only).

    Only files older than `older_than_s` seconds are listed, so a write in progress is never among them.
    """
    storage = storages["default"]
    if type(storage) is not FileSystemStorage:
        return
    deadline = time.time() - older_than_s
    for prefix in prefixes:
        root = storage.path(prefix)
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                if _is_temporary_name(name) and _modified_before(path, deadline):
                    yield os.path.relpath(path, storage.location).replace(os.sep, "/")


def _is_temporary_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)


def _modified_before(path: str, deadline: float) -> bool:
    try:
        return os.lstat(path).st_mtime < deadline
    except FileNotFoundError:
        return False


def storage_delete_prefix(prefix: str) -> int:
    """Delete every file under the storage folder `prefix`, recursively; returns how many files were deleted.

    Object storage (core.s3): one recursive listing of "runs/1/" (never the sibling "runs/10/...") and the keys
    deleted in bulk (blobs_delete: BlobsNotDeleted names any that could not go, after every key was tried).
    Otherwise only the storage API is used (listdir, delete), so it works on any backend. Emptied folders are
    removed too where the storage has folders (FileSystemStorage's delete removes an empty one); a folder a
    concurrent writer has just filled again stays.
    """
    prefix = prefix.strip("/")
    if not prefix:
        raise ValueError("storage_delete_prefix needs a prefix: it never empties the whole storage")
    if _loaded_object_storage(storages["default"]) is not None:  # one listing, one request per 1,000 keys
        keys = storage_keys(prefix)
        blobs_delete(keys)
        return len(keys)
    try:
        folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    deleted = len(files) + sum(storage_delete_prefix(f"{prefix}/{folder}") for folder in folders)
    with contextlib.suppress(OSError):
        default_storage.delete(prefix)
    return deleted
