"""Object storage against a real S3-protocol server: moto's standalone server, its own process, over HTTP.

`make test` starts it (scripts/services.sh) on 127.0.0.1:5055 (WINNOW_TEST_S3_ENDPOINT to use another).
Nothing is patched in this process: django-storages and boto3 talk HTTP to the server as to any object
store. Each test gets a fresh bucket, deleted at teardown with whatever is left in it.
"""

import os
import urllib.request
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import boto3
import pytest
from django.core.files.storage import storages

from config.settings.base import default_storage_config
from core.s3 import S3ObjectStorage
from tests.curation.embeddings.conftest import encoder_name, make_version, tiny_clip  # noqa: F401
from tests.worker import celery_worker  # noqa: F401

S3_ENDPOINT = os.environ.get("WINNOW_TEST_S3_ENDPOINT", "http://127.0.0.1:5055")
# Parts of 5 MiB (the smallest S3 allows), so a test file of a few parts goes up as a multipart upload.
PART_BYTES = 5 * 1024 * 1024
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "winnow-test", "AWS_SECRET_ACCESS_KEY": "winnow-test-secret"}


def s3_client() -> Any:
    return boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1", **_lower(CREDENTIALS))


def _lower(credentials: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in credentials.items()}


@pytest.fixture(scope="session")
def s3_server() -> str:
    """The S3 test server's endpoint; the test fails (not skips) when it does not answer."""
    try:
        urllib.request.urlopen(f"{S3_ENDPOINT}/moto-api/", timeout=5).close()
    except OSError as exc:
        pytest.fail(f"no S3 test server at {S3_ENDPOINT} ({exc}): run scripts/services.sh (make test starts it)")
    return S3_ENDPOINT


@pytest.fixture
def s3_bucket(s3_server: str) -> Iterator[str]:
    client = s3_client()
    name = f"winnow-test-{uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    yield name
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for entry in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=entry["Key"])
    client.delete_bucket(Bucket=name)


def s3_environment(bucket: str) -> dict[str, str]:
    """The environment that selects the test bucket as default storage (for this process and its children)."""
    return {
        "WINNOW_STORAGE": "s3",
        "WINNOW_S3_BUCKET": bucket,
        "WINNOW_S3_ENDPOINT_URL": S3_ENDPOINT,
        "WINNOW_S3_REGION": "us-east-1",
        "WINNOW_S3_MULTIPART_CHUNK_BYTES": str(PART_BYTES),
        **CREDENTIALS,
    }


@pytest.fixture
def s3_storage(settings, s3_bucket: str, tmp_path, monkeypatch) -> S3ObjectStorage:
    """Default storage on the test bucket, with this process's cache of stored files in a private folder.

    Its conditional writes are probed here (once per bucket and process, as a first save would), so that a test's
    own requests are the operation's only (tests/s3/test_conditional_writes.py tests the probe).
    """
    for name, value in s3_environment(s3_bucket).items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_config()}
    settings.STORAGE_CACHE_DIR = str(tmp_path / "storage-cache")
    storage = storages["default"]
    assert isinstance(storage, S3ObjectStorage)
    storage.conditional_writes_check()
    return storage
