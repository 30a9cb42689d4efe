"""The storage layer on a real S3-protocol server: blobs, saving, streaming reads, multipart, the local cache."""

import hashlib
import io
import os
import re
import time

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File

from config.settings.base import default_storage_config
from core.local_cache import CorruptStoredFile, cache_folder
from core.storage import (
    blob_read,
    blob_save,
    blob_size,
    storage_delete_prefix,
    storage_file_store,
    storage_is_local,
    storage_keys,
    storage_local_path,
)
from tests.s3.conftest import PART_BYTES, s3_client


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def head(bucket: str, key: str) -> dict:
    return s3_client().head_object(Bucket=bucket, Key=key)


def stored_keys(bucket: str) -> list[str]:
    return sorted(entry["Key"] for entry in s3_client().list_objects_v2(Bucket=bucket).get("Contents", []))


def write_file(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_blob_is_stored_once_with_its_sha256_and_read_back(s3_storage, s3_bucket):
    data = os.urandom(100_000)

    first, second = blob_save(key="images/ab/one.jpg", data=data), blob_save(key="images/ab/one.jpg", data=data)

    assert (first, second) == (True, False)
    assert not storage_is_local()
    assert blob_read("images/ab/one.jpg") == data and blob_size("images/ab/one.jpg") == len(data)
    assert head(s3_bucket, "images/ab/one.jpg")["Metadata"] == {"sha256": sha256(data)}
    assert blob_size("images/ab/missing.jpg") is None


def test_a_damaged_blob_is_replaced_by_the_next_writer(s3_storage, s3_bucket):
    data = os.urandom(5_000)
    s3_client().put_object(Bucket=s3_bucket, Key="images/cd/two.png", Body=data[:100])

    assert blob_save(key="images/cd/two.png", data=data) is True
    assert blob_read("images/cd/two.png") == data and stored_keys(s3_bucket) == ["images/cd/two.png"]


def test_saving_under_a_taken_key_picks_another_name_as_on_local_disk(s3_storage, s3_bucket):
    first = s3_storage.save("checkpoints/1/best.pt", ContentFile(b"first"))
    second = s3_storage.save("checkpoints/1/best.pt", ContentFile(b"second"))

    assert first == "checkpoints/1/best.pt" and second != first and second.startswith("checkpoints/1/best")
    assert blob_read(first) == b"first" and blob_read(second) == b"second"


def test_a_taken_name_is_replaced_by_one_within_max_length(s3_storage, s3_bucket):
    name = "reports/1/curve-of-the-run.json"
    s3_storage.save(name, ContentFile(b"{}"))

    second = s3_storage.save(name, ContentFile(b"[]"), max_length=len(name) + 2)

    # Django's naming: the root cut so that "_" and 7 random characters fit
    assert re.fullmatch(r"reports/1/curve-of-t_[A-Za-z0-9]{7}\.json", second) and len(second) == len(name) + 2
    assert (blob_read(name), blob_read(second)) == (b"{}", b"[]")


def test_a_stream_that_cannot_be_read_again_is_not_saved_over_a_taken_name(s3_storage, s3_bucket):
    class Stream(io.BytesIO):
        def seekable(self):
            return False

    s3_storage.save("uploads/one.zip", ContentFile(b"first"))

    with pytest.raises(FileExistsError, match=r"^uploads/one.zip is taken"):
        s3_storage.save("uploads/one.zip", File(Stream(b"second"), name="one.zip"))

    assert stored_keys(s3_bucket) == ["uploads/one.zip"] and blob_read("uploads/one.zip") == b"first"


def test_a_large_file_goes_up_in_parts_and_reads_back_whole(s3_storage, s3_bucket, tmp_path):
    data = os.urandom(2 * PART_BYTES + 12345)

    key = s3_storage.save("exports/7/big.zip", File(io.BytesIO(data), name="big.zip"))

    stored = head(s3_bucket, key)
    assert stored["ETag"].strip('"').endswith("-3")  # the ETag of a 3-part multipart upload
    assert stored["Metadata"] == {"sha256": sha256(data)}
    assert blob_read(key) == data


def test_an_upload_that_fails_part_way_leaves_no_object_and_no_open_upload(s3_storage, s3_bucket):
    parts_sent = []
    client = s3_storage.connection.meta.client
    client.meta.events.register("after-call.s3.UploadPart", lambda **_: parts_sent.append(1))

    class FailingUpload(io.BytesIO):
        """12 MiB that hash fine (the first pass), then fail 7 MiB into the upload, once its first part is up."""

        passes = 0

        def seek(self, offset, whence=0):
            self.passes += offset == 0 and whence == 0
            return super().seek(offset, whence)

        def read(self, size=-1):
            if self.passes > 1 and self.tell() >= 7 * 1024 * 1024:
                deadline = time.monotonic() + 10
                while not parts_sent and time.monotonic() < deadline:
                    time.sleep(0.01)
                raise OSError("read error")
            return super().read(size)

    with pytest.raises(OSError, match="read error"):
        s3_storage.save("exports/8/broken.tar", File(FailingUpload(b"x" * 12 * 1024 * 1024), name="broken.tar"))

    assert parts_sent  # a multipart upload was under way
    assert stored_keys(s3_bucket) == []
    assert s3_storage.incomplete_uploads() == []


def test_a_file_stored_from_a_path_replaces_the_object_and_is_kept_as_the_cached_copy(s3_storage, s3_bucket, tmp_path):
    s3_client().put_object(Bucket=s3_bucket, Key="embeddings/sets/1/embeddings.npy", Body=b"older")
    data = os.urandom(PART_BYTES + 1000)
    path = write_file(tmp_path / "embeddings.npy", data)

    storage_file_store(key="embeddings/sets/1/embeddings.npy", path=path, sha256=sha256(data))

    assert not path.exists()
    assert head(s3_bucket, "embeddings/sets/1/embeddings.npy")["Metadata"] == {"sha256": sha256(data)}
    assert blob_read("embeddings/sets/1/embeddings.npy") == data
    cached = [entry.name for entry in cache_folder().iterdir()]
    assert len(cached) == 1 and sha256(data) in cached[0]


def test_a_seek_then_a_read_fetches_only_that_range(s3_storage, s3_bucket):
    data = os.urandom(3 * 1024 * 1024)
    s3_client().put_object(Bucket=s3_bucket, Key="exports/9/data.tar", Body=data)
    ranges = []
    client = s3_storage.connection.meta.client
    client.meta.events.register("before-call.s3.GetObject", lambda params, **_: ranges.append(params["headers"]))

    with s3_storage.open("exports/9/data.tar", "rb") as handle:
        handle.seek(2_000_000)
        part = handle.read(1000)
        handle.seek(10)
        start = handle.read(20)

    assert (part, start) == (data[2_000_000:2_001_000], data[10:30])
    # open's GET of the whole object, dropped by the seek; then one ranged GET per jump
    assert [headers.get("Range") for headers in ranges] == [None, "bytes=2000000-", "bytes=10-"]


def test_reading_an_object_replaced_meanwhile_fails_instead_of_mixing_versions(s3_storage, s3_bucket):
    s3_client().put_object(Bucket=s3_bucket, Key="exports/10/a.csv", Body=b"a" * 3_000_000)

    with s3_storage.open("exports/10/a.csv", "rb") as handle:
        handle.read(10)
        s3_client().put_object(Bucket=s3_bucket, Key="exports/10/a.csv", Body=b"b" * 3_000_000)
        handle.seek(2_500_000)
        with pytest.raises(Exception, match=r"PreconditionFailed|412"):
            handle.read(10)


def test_opening_a_missing_object_raises_file_not_found(s3_storage):
    with pytest.raises(FileNotFoundError):
        s3_storage.open("exports/404/none.zip", "rb")
    with pytest.raises(FileNotFoundError):
        storage_local_path("exports/404/none.zip")


def test_keys_under_a_prefix_are_listed_recursively_and_deleted(s3_storage, s3_bucket):
    names = ["3/raw/b-1.npz", "3/png/1.png", "3/x", "30/y"]
    for name in names:
        s3_client().put_object(Bucket=s3_bucket, Key=f"explanations/runs/{name}", Body=b"1")

    listed = storage_keys("explanations/runs/3")
    deleted = storage_delete_prefix("explanations/runs/3")

    assert listed == ["explanations/runs/3/png/1.png", "explanations/runs/3/raw/b-1.npz", "explanations/runs/3/x"]
    assert deleted == 3 and stored_keys(s3_bucket) == ["explanations/runs/30/y"]
    assert storage_keys("explanations/runs/3") == [] and storage_delete_prefix("explanations/runs/3") == 0


def test_a_local_path_is_a_verified_cached_copy_reused_without_a_request(s3_storage, s3_bucket):
    array = np.arange(6000, dtype=np.float16).reshape(1000, 6)
    buffer = io.BytesIO()
    np.save(buffer, array)
    data = buffer.getvalue()
    s3_client().put_object(Bucket=s3_bucket, Key="embeddings/sets/2/embeddings.npy", Body=data)

    path = storage_local_path("embeddings/sets/2/embeddings.npy", sha256=sha256(data))
    s3_client().delete_object(Bucket=s3_bucket, Key="embeddings/sets/2/embeddings.npy")
    again = storage_local_path("embeddings/sets/2/embeddings.npy", sha256=sha256(data))

    assert again == path and path.parent == cache_folder()
    np.testing.assert_array_equal(np.load(path, mmap_mode="r"), array)


def test_a_cached_copy_that_no_longer_matches_is_downloaded_again(s3_storage, s3_bucket):
    data = os.urandom(50_000)
    s3_client().put_object(Bucket=s3_bucket, Key="embeddings/sets/3/index.faiss", Body=data)
    path = storage_local_path("embeddings/sets/3/index.faiss", sha256=sha256(data))
    path.write_bytes(b"\0" * len(data))  # a disk error, or someone edited the cache

    again = storage_local_path("embeddings/sets/3/index.faiss", sha256=sha256(data))

    assert again == path and again.read_bytes() == data


def test_an_object_that_does_not_match_its_recorded_checksum_is_refused_and_not_cached(s3_storage, s3_bucket):
    s3_client().put_object(Bucket=s3_bucket, Key="embeddings/sets/4/row_ids.npy", Body=b"tampered")

    with pytest.raises(CorruptStoredFile, match=r"embeddings/sets/4/row_ids.npy is corrupt: its sha256 is "):
        storage_local_path("embeddings/sets/4/row_ids.npy", sha256=sha256(b"original"))

    assert list(cache_folder().iterdir()) == []


def test_without_a_recorded_checksum_the_objects_metadata_verifies_the_copy(s3_storage, s3_bucket):
    key = s3_storage.save("checkpoints/5/last.pt", ContentFile(b"weights v1"))
    path = storage_local_path(key)
    s3_client().put_object(Bucket=s3_bucket, Key=key, Body=b"weights v2", Metadata={"sha256": sha256(b"weights v2")})

    replaced = storage_local_path(key)

    assert path.read_bytes() == b"weights v1" and replaced.read_bytes() == b"weights v2" and replaced != path
    s3_client().put_object(Bucket=s3_bucket, Key=key, Body=b"weights v3", Metadata={"sha256": sha256(b"other")})
    with pytest.raises(CorruptStoredFile):
        storage_local_path(key)


def test_the_cache_evicts_the_least_recently_used_files_past_its_size_limit(s3_storage, s3_bucket, settings):
    blobs = {name: os.urandom(100_000) for name in ("a", "b", "c")}
    for name, data in blobs.items():
        s3_client().put_object(Bucket=s3_bucket, Key=f"maps/{name}.npz", Body=data)
    settings.STORAGE_CACHE_MAX_BYTES = 250_000
    paths = {name: storage_local_path(f"maps/{name}.npz", sha256=sha256(blobs[name])) for name in ("a", "b")}
    long_ago = time.time() - 3600
    os.utime(paths["a"], (long_ago - 60, paths["a"].stat().st_mtime))  # a: used before b
    os.utime(paths["b"], (long_ago, paths["b"].stat().st_mtime))
    storage_local_path("maps/b.npz", sha256=sha256(blobs["b"]))  # b used again: now the most recent

    paths["c"] = storage_local_path("maps/c.npz", sha256=sha256(blobs["c"]))

    assert not paths["a"].exists() and paths["b"].exists() and paths["c"].exists()
    assert sum(entry.stat().st_size for entry in cache_folder().iterdir()) == 200_000


def test_a_file_in_use_is_kept_even_over_the_limit(s3_storage, s3_bucket, settings):
    for name in ("d", "e"):
        s3_client().put_object(Bucket=s3_bucket, Key=f"maps/{name}.npz", Body=b"z" * 100_000)
    settings.STORAGE_CACHE_MAX_BYTES = 150_000

    first = storage_local_path("maps/d.npz")
    second = storage_local_path("maps/e.npz")

    assert first.exists() and second.exists()  # both used within the last minute


def test_storage_settings_refuse_an_unknown_kind_and_s3_without_a_bucket(monkeypatch):
    monkeypatch.setenv("WINNOW_STORAGE", "ftp")
    with pytest.raises(ImproperlyConfigured, match="WINNOW_STORAGE is 'ftp'"):
        default_storage_config()
    monkeypatch.setenv("WINNOW_STORAGE", "s3")
    monkeypatch.delenv("WINNOW_S3_BUCKET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="WINNOW_S3_BUCKET"):
        default_storage_config()
    monkeypatch.delenv("WINNOW_STORAGE")
    assert default_storage_config() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
