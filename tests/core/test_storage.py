"""Content-addressed blobs: on FileSystemStorage a temporary file linked onto the key, with what its save gives."""

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

import core.storage
from core.storage import BlobsNotDeleted, blob_key, blob_read, blob_save, blobs_delete, sha256_bytes

DATA = b"\xff\xd8 some image bytes"
KEY = blob_key(sha256=sha256_bytes(DATA), kind="images", extension="jpg")


def test_keys_are_the_kind_one_folder_of_256_and_the_hash_with_its_lower_case_extension():
    digest = sha256_bytes(DATA)

    assert blob_key(sha256=digest, kind="thumbnails", extension=".JPG") == f"thumbnails/{digest[:2]}/{digest}.jpg"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_blob_is_written_once_and_found_under_its_key(isolated_media: Path):
    # when the same bytes are saved twice
    first, second = blob_save(key=KEY, data=DATA), blob_save(key=KEY, data=DATA)
    # then the first call wrote them, the second found them, and the storage reads them back
    assert (first, second) == (True, False)
    assert blob_read(KEY) == DATA
    assert sorted(p.relative_to(isolated_media).as_posix() for p in isolated_media.rglob("*") if p.is_file()) == [KEY]


def test_files_and_folders_get_the_modes_django_would_give(isolated_media: Path, settings):
    # given explicit upload permissions
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
    # when a blob is saved, and other bytes through Django's own save
    blob_save(key=KEY, data=DATA)
    django_key = default_storage.save("images/zz/yy/other.jpg", ContentFile(b"other"))
    # then both files and all their folders have the same modes
    ours, django = isolated_media / KEY, isolated_media / django_key
    assert (mode_of(ours), mode_of(ours.parent), mode_of(ours.parent.parent)) == (0o640, 0o750, 0o750)
    assert (mode_of(django), mode_of(django.parent), mode_of(django.parent.parent)) == (0o640, 0o750, 0o750)


def test_a_write_that_fails_leaves_no_partial_blob(isolated_media: Path, monkeypatch):
    # given a storage whose permission change fails after the bytes are written
    def fail(fd: int, mode: int) -> None:
        raise OSError("chmod refused")

    monkeypatch.setattr(core.storage.os, "fchmod", fail)
    # when a blob is saved
    with pytest.raises(OSError, match="chmod refused"):
        blob_save(key=KEY, data=DATA)
    # then no file stands under its key (a later import would take it for the blob)
    assert not (isolated_media / KEY).exists()
    monkeypatch.undo()
    assert blob_save(key=KEY, data=DATA) is True


def test_a_key_outside_the_storage_root_is_refused(isolated_media: Path):
    with pytest.raises(SuspiciousFileOperation):
        blob_save(key="../escape.jpg", data=DATA)
    assert not (isolated_media.parent / "escape.jpg").exists()


def test_a_folder_blocked_by_a_file_fails_like_djangos_save(isolated_media: Path):
    # given a file where the blob's folder goes
    isolated_media.mkdir(parents=True)
    (isolated_media / "images").write_bytes(b"in the way")
    # when a blob is saved there, then the error names the obstacle, as FileSystemStorage's does
    with pytest.raises((FileExistsError, NotADirectoryError)):
        blob_save(key=KEY, data=DATA)


def test_other_storages_take_djangos_generic_save(settings):
    # given an in-memory storage (as S3 would be: not a FileSystemStorage)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    # when the same bytes are saved twice
    first, second = blob_save(key=KEY, data=DATA), blob_save(key=KEY, data=DATA)
    # then they are stored once, in that storage
    assert (first, second) == (True, False)
    assert blob_read(KEY) == DATA
    assert default_storage.listdir("images") == ([KEY.split("/")[1]], [])


def test_the_blob_bytes_are_exact_for_a_large_blob(isolated_media: Path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="png")
    assert blob_save(key=key, data=data) is True
    assert (isolated_media / key).read_bytes() == data


def test_concurrent_writers_of_one_blob_store_it_once(isolated_media: Path):
    # when eight threads save the same bytes at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = list(pool.map(lambda _: blob_save(key=KEY, data=DATA), range(8)))
    # then exactly one wrote it, and no copy under another name exists
    assert written.count(True) == 1
    assert [p.name for p in isolated_media.rglob("*") if p.is_file()] == [KEY.rsplit("/", 1)[1]]


def test_an_intact_file_already_under_the_key_is_kept(isolated_media: Path):
    # given the blob's bytes that another writer stored under the key
    (isolated_media / KEY).parent.mkdir(parents=True)
    (isolated_media / KEY).write_bytes(DATA)
    inode = (isolated_media / KEY).stat().st_ino
    # when the blob is saved, then nothing is written over it
    assert blob_save(key=KEY, data=DATA) is False
    assert ((isolated_media / KEY).read_bytes(), (isolated_media / KEY).stat().st_ino) == (DATA, inode)


def stored_blobs(root: Path, count: int) -> list[str]:
    keys = []
    for n in range(count):
        data = f"blob {n}".encode()
        keys.append(blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg"))
        blob_save(key=keys[-1], data=data)
    assert all((root / key).is_file() for key in keys)
    return keys


def test_deleting_blobs_checks_every_key_before_it_deletes_any(isolated_media: Path):
    # given two stored blobs and, between them, a key that leads out of the storage root to an existing file
    first, last = stored_blobs(isolated_media, 2)
    outside = isolated_media.parent / "outside.jpg"
    outside.write_bytes(DATA)
    # when they are deleted, then the key is refused as FileSystemStorage.path refuses it, and nothing is deleted
    with pytest.raises(SuspiciousFileOperation):
        blobs_delete([first, "../outside.jpg", last])
    assert [(isolated_media / first).exists(), outside.exists(), (isolated_media / last).exists()] == [True] * 3


def test_a_blob_that_cannot_be_deleted_is_named_and_the_others_are_deleted(isolated_media: Path):
    # given stored blobs and, under one more key, a folder holding a file (never a blob)
    first, last = stored_blobs(isolated_media, 2)
    folder = "images/aa/folder.jpg"
    (isolated_media / folder).mkdir(parents=True)
    (isolated_media / folder / "inside").write_bytes(DATA)
    # when they are deleted with a missing key and a blank one
    with pytest.raises(BlobsNotDeleted) as raised:
        blobs_delete([first, folder, "images/zz/missing.jpg", "", last])
    # then the error names only the folder's key, the blobs are gone and the folder is untouched
    assert list(raised.value.errors) == [folder]
    assert [(isolated_media / first).exists(), (isolated_media / last).exists()] == [False, False]
    assert (isolated_media / folder / "inside").read_bytes() == DATA


def test_a_key_under_a_file_where_its_folder_goes_is_missing_not_an_error(isolated_media: Path):
    # given a stored blob, and a file standing where another key's folder goes (an import that failed to write)
    (stored,) = stored_blobs(isolated_media, 1)
    (isolated_media / "thumbnails").write_bytes(DATA)
    # when both keys are deleted
    blobs_delete([stored, "thumbnails/ab/never-written.jpg"])
    # then the blob is gone and nothing is reported: nothing can be stored under that key
    assert [(isolated_media / stored).exists(), (isolated_media / "thumbnails").read_bytes()] == [False, DATA]
