"""The object store must honour `If-None-Match: *` (core.s3_upload.conditional_writes_verify), on the S3 test server.

moto's server honours it. A store that ignores it is made the way such stores behave: the storage's own boto3
client drops the header before signing (a botocore `before-sign` hook), so the server receives a plain PUT or
completion and replaces the object, as older MinIO releases and some S3-compatible services do.
"""

from typing import Any

import pytest
from botocore.awsrequest import AWSRequest
from django.core.checks import run_checks
from django.core.files.base import ContentFile

import core.s3
from core.checks import STORE_IGNORES_CONDITIONAL_WRITES
from core.s3 import S3ObjectStorage
from core.s3_upload import ConditionalWritesIgnored, conditional_writes_verify
from tests.s3.conftest import S3_ENDPOINT, s3_client

PUT, COMPLETE = "PutObject", "CompleteMultipartUpload"


@pytest.fixture
def unprobed(s3_storage, monkeypatch) -> S3ObjectStorage:
    """The test bucket's storage as a new process finds it: no verdict on the store yet."""
    monkeypatch.setattr(core.s3, "_CONDITIONAL_WRITES", {})
    return s3_storage


def ignore_if_none_match(storage: S3ObjectStorage, *operations: str) -> None:
    """From now on the storage's client sends `operations` without If-None-Match (a store that ignores it)."""

    def strip(request: AWSRequest, **_: Any) -> None:
        if "If-None-Match" in request.headers:
            del request.headers["If-None-Match"]

    for operation in operations:
        storage.connection.meta.client.meta.events.register(f"before-sign.s3.{operation}", strip)


def bucket_state(bucket: str) -> tuple[dict[str, bytes], list[str]]:
    """Every object (key -> bytes) and every multipart upload left open in the bucket."""
    client = s3_client()
    keys = [entry["Key"] for entry in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = [upload["Key"] for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}, uploads


def test_the_probe_passes_on_the_test_server_and_leaves_nothing_behind(unprobed, s3_bucket):
    client = unprobed.connection.meta.client

    conditional_writes_verify(client, s3_bucket, "some/prefix")

    assert bucket_state(s3_bucket) == ({}, [])


def test_the_first_save_of_a_process_probes_the_store_once(unprobed, s3_bucket):
    calls: list[str] = []
    unprobed.connection.meta.client.meta.events.register(
        "after-call.s3", lambda http_response, model, **_: calls.append(f"{model.name} {http_response.status_code}")
    )

    first = unprobed.save("a.txt", ContentFile(b"one"))
    probe_calls, calls[:] = calls[:], []
    second = unprobed.save("b.txt", ContentFile(b"two"))

    assert probe_calls == [
        f"{PUT} 200", f"{PUT} 412", "CreateMultipartUpload 200", "UploadPart 200", f"{COMPLETE} 412",
        "AbortMultipartUpload 204", "DeleteObject 204", f"{PUT} 200",
    ]  # fmt: skip
    assert calls == [f"{PUT} 200"]
    assert (first, second) == ("a.txt", "b.txt")
    assert bucket_state(s3_bucket) == ({"a.txt": b"one", "b.txt": b"two"}, [])


@pytest.mark.parametrize("operations", [(PUT,), (COMPLETE,), (PUT, COMPLETE)], ids=["put", "completion", "both"])
def test_a_store_that_ignores_if_none_match_is_named_and_refused_before_any_save(unprobed, s3_bucket, operations):
    s3_client().put_object(Bucket=s3_bucket, Key="checkpoint.pt", Body=b"another attempt's checkpoint")
    ignore_if_none_match(unprobed, *operations)

    with pytest.raises(ConditionalWritesIgnored) as refused:
        unprobed.save("checkpoint.pt", ContentFile(b"this attempt's"))
    with pytest.raises(ConditionalWritesIgnored) as refused_again:  # the verdict is kept: no second probe
        unprobed.save("export.zip", ContentFile(b"an export"))

    message = str(refused.value)
    assert message.startswith(f"the object store at {S3_ENDPOINT} (bucket {s3_bucket}) ignores If-None-Match: ")
    assert f"a {operations[0]} sent with `If-None-Match: *` replaced the object under the key" in message
    assert "Winnow refuses to save files there" in message and "412 Precondition Failed" in message
    assert str(refused_again.value) == message
    assert bucket_state(s3_bucket) == ({"checkpoint.pt": b"another attempt's checkpoint"}, [])


def test_deploy_check_passes_on_the_test_server(unprobed):
    assert run_checks(include_deployment_checks=True, tags=["storage"]) == []


def test_deploy_check_reports_a_store_that_ignores_if_none_match(unprobed, s3_bucket):
    ignore_if_none_match(unprobed, PUT)

    errors = run_checks(include_deployment_checks=True, tags=["storage"])

    assert [(error.id, error.level) for error in errors] == [(STORE_IGNORES_CONDITIONAL_WRITES, 40)]
    assert errors[0].msg.startswith(f"the object store at {S3_ENDPOINT} (bucket {s3_bucket}) ignores If-None-Match")
    assert bucket_state(s3_bucket) == ({}, [])


def test_deploy_check_says_nothing_on_local_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}

    assert run_checks(include_deployment_checks=True, tags=["storage"]) == []
