"""Blob writes are atomic and durable, and a damaged file under a key is not taken for the blob.

The kill tests use a real process and SIGKILL: its writes are slowed (64 KiB per 20 ms) so that the
kill lands while the bytes are being written.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings

import core.storage
from core.storage import blob_key, blob_read, blob_save, blob_temporaries, sha256_bytes

LARGE = os.urandom(8 * 1024 * 1024)
LARGE_KEY = blob_key(sha256=sha256_bytes(LARGE), kind="images", extension="bmp")
SMALL = b"\x89PNG small blob bytes"
SMALL_KEY = blob_key(sha256=sha256_bytes(SMALL), kind="thumbnails", extension="jpg")

SLOW_WRITES = """
import os, time
_write = os.write
def _slow_write(fd, data):
    time.sleep(0.02)
    return _write(fd, bytes(data[:65536]))
os.write = _slow_write
"""


def files_under(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def writer_killed_mid_write(script: str, media: Path, watch: Path) -> dict[str, int]:
    """Run `script` in a fresh Python process, SIGKILL it once a file under `watch` holds part of LARGE,
    and return the files left under the media root with their sizes."""
    data_path = media.parent / "large.bin"
    data_path.write_bytes(LARGE)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "WINNOW_MEDIA_ROOT": str(media)}
    code = SLOW_WRITES + textwrap.dedent(script).format(data=str(data_path), media=str(media), key=LARGE_KEY)
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR)
    try:
        deadline = time.monotonic() + 30
        while not any(0 < p.stat().st_size < len(LARGE) for p in watch.glob("*") if p.is_file()):
            assert process.poll() is None, "the writer ended before it could be killed"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    return files_under(media)


def test_a_writer_killed_mid_write_leaves_no_partial_file_under_the_key(isolated_media: Path):
    # given a process storing a large blob through blob_save, SIGKILLed while the bytes are being written
    isolated_media.mkdir(parents=True)
    (isolated_media / LARGE_KEY).parent.mkdir(parents=True)
    left = writer_killed_mid_write(
        """
        import django
        django.setup()
        from pathlib import Path
        from core.storage import blob_save
        blob_save(key="{key}", data=Path("{data}").read_bytes())
        """,
        isolated_media,
        watch=(isolated_media / LARGE_KEY).parent,
    )
    # then nothing stands under the key: only a hidden temporary file holds the part written
    (name, size) = left.popitem()
    assert left == {}
    assert name.startswith(LARGE_KEY.rsplit("/", 1)[0] + "/.") and name.endswith(".tmp")
    assert 0 < size < len(LARGE)
    # and the next save stores the blob whole, and the leftover is found for removal
    assert blob_save(key=LARGE_KEY, data=LARGE) is True
    assert blob_read(LARGE_KEY) == LARGE
    assert list(blob_temporaries(("images",), older_than_s=0)) == [name]
    assert list(blob_temporaries(("images",), older_than_s=3600)) == []


def test_a_partial_file_an_older_writer_left_under_the_key_is_replaced(isolated_media: Path):
    # given the partial blob that a writer writing in place (the code before this change) left when SIGKILLed
    isolated_media.mkdir(parents=True)
    (isolated_media / LARGE_KEY).parent.mkdir(parents=True)
    left = writer_killed_mid_write(
        """
        import os
        from pathlib import Path
        data = Path("{data}").read_bytes()
        fd = os.open(os.path.join("{media}", "{key}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        """,
        isolated_media,
        watch=(isolated_media / LARGE_KEY).parent,
    )
    assert list(left) == [LARGE_KEY] and 0 < left[LARGE_KEY] < len(LARGE)
    # when the blob is saved again, then the partial file is replaced by the whole blob
    assert blob_save(key=LARGE_KEY, data=LARGE) is True
    assert blob_read(LARGE_KEY) == LARGE
    assert files_under(isolated_media) == {LARGE_KEY: len(LARGE)}


@pytest.mark.parametrize(
    ("stored", "key", "data"),
    [
        (b"", LARGE_KEY, LARGE),  # 0 bytes
        (LARGE[:1000], LARGE_KEY, LARGE),  # truncated
        (b"x" * len(SMALL), SMALL_KEY, SMALL),  # other bytes of the same size, where comparing is cheap
    ],
    ids=["empty", "truncated", "same-size-small"],
)
def test_a_damaged_file_under_the_key_is_replaced(isolated_media: Path, stored: bytes, key: str, data: bytes):
    (isolated_media / key).parent.mkdir(parents=True)
    (isolated_media / key).write_bytes(stored)

    assert blob_save(key=key, data=data) is True

    assert blob_read(key) == data
    assert files_under(isolated_media) == {key: len(data)}


def test_a_damaged_blob_is_replaced_in_other_storages_too(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    default_storage.save(LARGE_KEY, ContentFile(b""))

    assert (blob_save(key=LARGE_KEY, data=LARGE), blob_save(key=LARGE_KEY, data=LARGE)) == (True, False)
    assert blob_read(LARGE_KEY) == LARGE


def test_the_bytes_and_the_folder_are_synced_before_the_key_names_them(isolated_media: Path, monkeypatch):
    # given a record of every fsync and link
    events: list[tuple[str, str]] = []
    fsync, link = os.fsync, os.link

    def recording_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recording_link(source: str, target: str) -> None:
        events.append(("link", target))
        link(source, target)

    monkeypatch.setattr(core.storage.os, "fsync", recording_fsync)
    monkeypatch.setattr(core.storage.os, "link", recording_link)
    # when a blob is saved into a new folder
    blob_save(key=SMALL_KEY, data=SMALL)
    # then the new folders' parents are synced, the temporary file is synced before it is linked
    # onto the key, and the key's folder is synced after
    key_path, folder = str(isolated_media / SMALL_KEY), str((isolated_media / SMALL_KEY).parent)
    (temporary,) = [path for kind, path in events if kind == "fsync" and path.endswith(".tmp")]
    assert [(kind, path) for kind, path in events if path != temporary][-2:] == [("link", key_path), ("fsync", folder)]
    assert events.index(("fsync", temporary)) < events.index(("link", key_path))
    assert ("fsync", str(isolated_media / "thumbnails")) in events
    assert ("fsync", str(isolated_media)) in events
