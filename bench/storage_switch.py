"""`--storage s3` for the benches: their storage steps on an S3 bucket beside local disk, in one process.

A bench given --storage s3 runs the steps that touch storage twice in the same process, once on local disk
(FileSystemStorage under its temporary MEDIA_ROOT) and once on a bucket of an S3-protocol server (moto's on
127.0.0.1:5055, which `make services` starts; any endpoint works with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
in the environment), and prints each S3 figure beside the local one with the ratio S3 / local of the seconds.
The bucket is made by the bench and deleted, with what is in it, at the end.

The default storage is switched with `override_settings(STORAGES=...)`: Django drops its storage instances when
that setting changes, so the production code paths (core.storage, core.s3, core.local_cache) run unchanged, as
on a worker started with WINNOW_STORAGE=s3 (the options come from config.settings.base.default_storage_config).
Each S3 run starts with an empty local cache (WINNOW_CACHE_DIR), as a worker that never saw the files.

moto keeps objects in memory and answers from one Python process on this machine: against a real object store
the S3 figures would differ (a faster server, a real network). The ratio says what the storage API costs here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

S3_ENDPOINT = os.environ.get("WINNOW_S3_ENDPOINT_URL") or "http://127.0.0.1:5055"


def storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        choices=("local", "s3"),
        default="local",
        help="s3: run the storage steps on local disk and on an S3 bucket in this process, print S3 / local",
    )
    parser.add_argument("--s3-endpoint", default=S3_ENDPOINT, help=f"S3 server for --storage s3 ({S3_ENDPOINT})")


def s3_client(endpoint: str) -> Any:
    import boto3

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "winnow-bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "winnow-bench-secret")
    return boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("WINNOW_S3_REGION", "us-east-1"))


@contextmanager
def s3_bucket(endpoint: str) -> Iterator[str]:
    """A new bucket on the server at `endpoint` (its name); emptied and deleted at exit."""
    from botocore.exceptions import BotoCoreError

    client = s3_client(endpoint)
    try:
        client.list_buckets()
    except BotoCoreError as exc:
        sys.exit(f"no S3 server at {endpoint} ({exc}): run `make services` (it starts moto's)")
    bucket = f"winnow-bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield bucket
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=entry["Key"])
        for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        client.delete_bucket(Bucket=bucket)


def s3_storage_config(bucket: str, endpoint: str) -> dict[str, Any]:
    """The STORAGES["default"] entry a process started with WINNOW_STORAGE=s3 on this bucket would have."""
    from config.settings.base import default_storage_config

    wanted = {"WINNOW_STORAGE": "s3", "WINNOW_S3_BUCKET": bucket, "WINNOW_S3_ENDPOINT_URL": endpoint}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        return default_storage_config()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def on_s3(bucket: str, endpoint: str) -> Iterator[None]:
    """The default storage is the bucket (core.s3.S3ObjectStorage) inside; with an empty local cache of its own."""
    from django.conf import settings
    from django.test.utils import override_settings

    cache = Path(tempfile.mkdtemp(prefix="winnow-bench-s3-cache-"))
    storages = {**settings.STORAGES, "default": s3_storage_config(bucket, endpoint)}
    try:
        with override_settings(STORAGES=storages, STORAGE_CACHE_DIR=str(cache)):
            forget_verified()
            yield
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def cache_empty() -> None:
    """This process's local copies of stored files are forgotten, as on a worker that never saw them."""
    from django.conf import settings

    folder = Path(settings.STORAGE_CACHE_DIR)
    if folder.exists():
        shutil.rmtree(folder)
    forget_verified()


def forget_verified() -> None:
    from core import local_cache

    with local_cache._verified_lock:
        local_cache._verified.clear()


def ratio_line(label: str, local_s: float, s3_s: float, *, amount: float = 0.0, unit: str = "") -> str:
    """One printed row: seconds (and rate) on local disk and on S3, and S3 / local of the seconds."""
    rates = ""
    if amount and unit:
        rates = f"  ({amount / local_s:,.1f} vs {amount / s3_s:,.1f} {unit}/s)"
    return f"  {label:<34} local {local_s:8.2f} s   S3 {s3_s:8.2f} s   S3 / local {s3_s / local_s:5.2f}{rates}"
