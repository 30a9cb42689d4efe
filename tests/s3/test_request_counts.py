"""How many requests each storage operation costs on a real S3-protocol server (every request the client sends).

Round trips dominate object storage: a whole-object read that sent a HEAD before its GET made a WebDataset export
on S3 two requests per image. Each test records what the storage's boto3 client sends (its `before-send` event,
after signing, one per HTTP request, retries included) while the operation runs.
"""

import io
import os
import tarfile
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from core.storage import blob_key, blob_read, blob_save, blob_size, blobs_delete, sha256_bytes
from curation.services.blob_claims import blobs_collect
from jobs.models import JobStatus
from tests.curation.exports.builders import export_file_bytes, pets_version, run_export
from tests.factories import SampleFactory
from tests.s3.conftest import s3_client


class Requests(list):
    """(method, key, headers) of each request sent."""

    def methods(self) -> list[str]:
        return [method for method, _, _ in self]

    def to(self, key: str) -> list[str]:
        return [method for method, sent_key, _ in self if sent_key == key]


@pytest.fixture
def sent(s3_storage, s3_bucket) -> Iterator[Requests]:
    requests = Requests()
    prefix = f"/{s3_bucket}/"

    def record(request, **_):
        path = unquote(urlsplit(request.url).path)
        headers = {name: _text(value) for name, value in request.headers.items()}
        requests.append((request.method, path.removeprefix(prefix), headers))

    events = s3_storage.connection.meta.client.meta.events
    events.register("before-send.s3", record)
    yield requests
    events.unregister("before-send.s3", record)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def put(bucket: str, key: str, data: bytes) -> None:
    s3_client().put_object(Bucket=bucket, Key=key, Body=data)


def test_a_whole_object_read_is_one_get_without_a_range(s3_bucket, sent):
    data = os.urandom(300_000)
    put(s3_bucket, "images/aa/one.jpg", data)

    assert blob_read("images/aa/one.jpg") == data

    assert sent.methods() == ["GET"]
    assert "Range" not in sent[0][2]


def test_the_size_of_an_open_object_and_measuring_it_by_seeking_cost_no_request(s3_bucket, sent):
    data = os.urandom(200_000)
    put(s3_bucket, "thumbnails/bb/two.jpg", data)

    with default_storage.open("thumbnails/bb/two.jpg", "rb") as handle:
        size = handle.size
        start = handle.tell()
        handle.seek(0, io.SEEK_END)  # as FileResponse measures a file for its Content-Length
        end = handle.tell()
        handle.seek(start)
        read = handle.read()

    assert (size, end, read) == (len(data), len(data), data)
    assert sent.methods() == ["GET"]


@pytest.mark.django_db
def test_a_served_thumbnail_is_one_get(sent, client, viewer):
    sample = SampleFactory()
    client.force_login(viewer)
    sent.clear()

    response = client.get(reverse("frontend:sample_thumbnail", args=[sample.pk]))
    body = b"".join(response.streaming_content)
    served = list(sent)

    assert response.status_code == 200 and response["Content-Length"] == str(len(body))
    assert body == blob_read(sample.thumbnail_key)
    assert [(method, key) for method, key, _ in served] == [("GET", sample.thumbnail_key)]


def test_a_short_seek_ahead_reads_on_and_a_long_one_sends_one_ranged_get(s3_bucket, sent):
    data = os.urandom(4 * 1024 * 1024)
    put(s3_bucket, "exports/1/data.tar", data)

    with default_storage.open("exports/1/data.tar", "rb") as handle:
        handle.seek(10)
        near = handle.read(20)
        handle.seek(3_000_000)
        far = handle.read(20)

    assert (near, far) == (data[10:30], data[3_000_000:3_000_020])
    assert sent.methods() == ["GET", "GET"]
    assert "Range" not in sent[0][2] and sent[1][2]["Range"] == "bytes=3000000-"
    assert sent[1][2]["If-Match"] == s3_client().head_object(Bucket=s3_bucket, Key="exports/1/data.tar")["ETag"]


def test_opening_a_missing_object_is_one_request(sent):
    with pytest.raises(FileNotFoundError):
        default_storage.open("images/dd/none.jpg", "rb")

    assert sent.methods() == ["GET"]


def test_a_new_blob_is_one_head_and_one_put_and_a_stored_one_one_head(sent):
    data = os.urandom(120_000)
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")

    written = blob_save(key=key, data=data)
    first = sent.methods()
    sent.clear()
    again = blob_save(key=key, data=data)
    second = sent.methods()
    sent.clear()
    size = blob_size(key)

    assert (written, again, size) == (True, False, len(data))
    assert (first, second, sent.methods()) == (["HEAD", "PUT"], ["HEAD"], ["HEAD"])


def test_a_stored_blob_whose_recorded_checksum_differs_is_replaced(s3_bucket, sent):
    data = os.urandom(120_000)
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")
    damaged = bytes(reversed(data))  # the same size, other bytes
    s3_client().put_object(Bucket=s3_bucket, Key=key, Body=damaged, Metadata={"sha256": sha256_bytes(damaged)})

    assert blob_save(key=key, data=data) is True

    assert sent.methods() == ["HEAD", "PUT"]
    assert blob_read(key) == data


@pytest.mark.django_db
def test_a_webdataset_export_reads_each_image_with_one_get_and_stores_each_file_with_one_put(s3_storage, sent, curator):
    version = pets_version(created_by=curator)
    image_keys = sorted({member.sample.image_key for member in version.members.select_related("sample")})
    sent.clear()

    export, job = run_export(version, "webdataset", user=curator, shard_size=3)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert {key: sent.to(key) for key in image_keys} == {key: ["GET"] for key in image_keys}
    outputs = [item["key"] for item in export.files] + [export.checksum_key]
    assert {key: sent.to(key) for key in outputs} == {key: ["PUT"] for key in outputs}  # no probe before a PUT
    assert "HEAD" not in sent.methods()
    shards = [item["name"] for item in export.files if item["name"].endswith(".tar")]
    names = []
    for shard in shards:
        with tarfile.open(fileobj=io.BytesIO(export_file_bytes(export, shard))) as tar:
            names += tar.getnames()
    assert len([name for name in names if name.endswith(".png")]) == len(image_keys)


def test_deleting_blobs_sends_one_request_per_thousand_keys(s3_bucket, sent):
    # given 2,100 keys to delete, seven of them stored, most with nothing stored, and a stored blob not among them
    stored = [f"images/{n:02x}/stored-{n}.jpg" for n in range(7)]
    kept = "images/ff/kept.jpg"
    for key in [*stored, kept]:
        put(s3_bucket, key, b"bytes")
    missing = [f"images/{n % 256:02x}/missing-{n}.jpg" for n in range(2100 - len(stored))]
    # when they are deleted (a blank key among them)
    blobs_delete([*missing[:1000], *stored, "", *missing[1000:]])
    # then three DeleteObjects requests went (not one per key), the stored ones are gone and the other one stays
    assert sent.methods() == ["POST"] * 3
    listed = s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    assert [entry["Key"] for entry in listed] == [kept]


@pytest.mark.django_db
def test_the_blob_collector_deletes_a_chunk_of_unneeded_blobs_with_one_request(s3_bucket, sent):
    # given three stored blobs, one of them named by a sample row
    keys = [f"images/{n:02x}/collected-{n}.jpg" for n in range(3)]
    for key in keys:
        put(s3_bucket, key, b"bytes")
    SampleFactory(image_key=keys[1])
    sent.clear()
    # when the collector looks at them, then the two unneeded ones go in one DeleteObjects request
    assert sorted(blobs_collect(keys)) == [keys[0], keys[2]]
    assert sent.methods() == ["POST"]
    listed = {entry["Key"] for entry in s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert [key in listed for key in keys] == [False, True, False]
