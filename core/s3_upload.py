"""Conditional writes to S3: store a file under a key only if no object is there, never replacing one.

PutObject and CompleteMultipartUpload with `IfNoneMatch="*"` are refused (412 PreconditionFailed) when the key
holds an object, so a save costs one request and needs no HEAD before it (S3 since August 2024; MinIO, Ceph and
moto's server honour it too). boto3's managed transfer (s3transfer) does not accept the parameter, so the parts
of a large file are uploaded here: `multipart_chunksize` bytes each, `max_concurrency` at a time, as boto3's
TransferConfig says. A multipart upload that fails, the final refusal included, is aborted: no object and no
stored part stay behind. A store that ignores the header would accept both and replace the object:
`conditional_writes_verify` probes for that (core.s3 runs it before a process's first save).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any
from uuid import uuid4

from botocore.exceptions import ClientError
from s3transfer.utils import ChunksizeAdjuster

# CRC32 per part, as boto3's managed uploads send by default (a multipart upload created with an algorithm
# needs every part's checksum at completion).
PART_CHECKSUM_ALGORITHM = "CRC32"


class KeyTaken(Exception):
    """An object stands under the key (412), or another conditional write to it is under way (409)."""


class ConditionalWritesIgnored(Exception):
    """The store accepted a conditional write onto an existing key: it would let a save replace a stored file."""


# Keys under this folder (below the storage's prefix) are the probe's own: no name Winnow stores starts with a dot.
PROBE_FOLDER = ".winnow-probes"


def object_create(
    client: Any, bucket: str, key: str, content: Any, *, params: dict[str, Any], config: Any, size: int | None = None
) -> None:
    """Store the bytes `content.read()` gives under `key` if no object is there; KeyTaken if one is.

    `params` are the object's write parameters (ContentType, Metadata...); `config` a boto3 TransferConfig;
    `size` the content's size where known (parts grow past `multipart_chunksize` to stay within S3's 10,000).
    Less than `multipart_threshold` bytes go in one PUT; more in parts, the upload created first and completed
    last (the completion is the conditional request).
    """
    first = _read_up_to(content, config.multipart_threshold)
    if len(first) < config.multipart_threshold:
        _conditional(key, client.put_object, Bucket=bucket, Key=key, Body=first, IfNoneMatch="*", **params)
        return
    part_bytes = ChunksizeAdjuster().adjust_chunksize(config.multipart_chunksize, size)
    upload = MultipartUpload(client, bucket, key, params)
    try:
        concurrency = config.max_concurrency if config.use_threads else 1
        parts = upload.parts_send(_chunks(content, part_bytes, first), concurrency)
        _conditional(key, upload.complete, parts)
    except BaseException:
        upload.abort()
        raise


class MultipartUpload:
    """One multipart upload of `key`, created at construction."""

    def __init__(self, client: Any, bucket: str, key: str, params: dict[str, Any]):
        self.client, self.bucket, self.key = client, bucket, key
        self.checksum = params.get("ChecksumAlgorithm", PART_CHECKSUM_ALGORITHM)
        params = {**params, "ChecksumAlgorithm": self.checksum}
        self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **params)["UploadId"]

    def parts_send(self, chunks: Iterator[bytes], concurrency: int) -> list[dict[str, Any]]:
        """Upload each chunk as the next part, at most `concurrency` at a time (and in memory); the parts' list
        for completion. On a failure the parts not started are dropped and the ones under way finish first."""
        sent: list[dict[str, Any]] = []
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="s3-part") as pool:
            under_way: deque[Future[dict[str, Any]]] = deque()
            try:
                for number, chunk in enumerate(chunks, start=1):
                    if len(under_way) >= concurrency:
                        sent.append(under_way.popleft().result())
                    under_way.append(pool.submit(self._part_send, number, chunk))
                sent.extend(future.result() for future in under_way)
            except BaseException:
                for future in under_way:
                    future.cancel()
                raise
        return sent

    def _part_send(self, number: int, chunk: bytes) -> dict[str, Any]:
        response = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm=self.checksum,
        )
        part = {"ETag": response["ETag"], "PartNumber": number}
        checksum = f"Checksum{self.checksum.upper()}"
        return {**part, checksum: response[checksum]} if checksum in response else part

    def complete(self, parts: list[dict[str, Any]]) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
        )

    def abort(self) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def conditional_writes_verify(client: Any, bucket: str, prefix: str = "") -> None:
    """Check that the store honours `If-None-Match: *`; ConditionalWritesIgnored, naming the endpoint, if not.

    Under `<prefix>/.winnow-probes/` a fresh key is written with a conditional PutObject, then twice more onto it:
    a second conditional PutObject and a one-part multipart upload completed conditionally. Each must be refused
    (412, or 409 ConditionalRequestConflict); the probe object is deleted and the upload aborted whatever the
    outcome: seven requests. Other errors (credentials, network) propagate as they are.
    """
    key = f"{prefix.strip('/')}/{PROBE_FOLDER}/if-none-match-{uuid4().hex}".lstrip("/")
    store = f"the object store at {client.meta.endpoint_url} (bucket {bucket})"
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"first", IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") == "NotImplemented":
            raise ConditionalWritesIgnored(f"{store} does not implement If-None-Match ({error}). {REQUIREMENT}")
        raise
    try:
        if not _refused(key, client.put_object, Bucket=bucket, Key=key, Body=b"second", IfNoneMatch="*"):
            raise ConditionalWritesIgnored(f"{store} {IGNORED.format(operation='PutObject')} {REQUIREMENT}")
        upload = MultipartUpload(client, bucket, key, {})
        try:
            completion_refused = _refused(key, upload.complete, upload.parts_send(iter([b"third"]), 1))
        finally:
            with suppress(ClientError):  # a completed upload is gone already
                upload.abort()
        if not completion_refused:
            operation = "CompleteMultipartUpload"
            raise ConditionalWritesIgnored(f"{store} {IGNORED.format(operation=operation)} {REQUIREMENT}")
    finally:
        client.delete_object(Bucket=bucket, Key=key)


IGNORED = "ignores If-None-Match: a {operation} sent with `If-None-Match: *` replaced the object under the key."
REQUIREMENT = (
    "Winnow refuses to save files there: a save must never replace a stored file (a checkpoint, an export), so "
    "the store must refuse a PutObject and a CompleteMultipartUpload sent with `If-None-Match: *` onto an existing "
    "key (412 Precondition Failed), as AWS S3 does since August 2024. Upgrade the store or use one that does "
    "(docs/DEPLOYMENT.md, WINNOW_S3_ENDPOINT_URL)."
)


def _refused(key: str, call: Any, *args: Any, **kwargs: Any) -> bool:
    """Whether the conditional call was refused because an object stands under `key`."""
    try:
        _conditional(key, call, *args, **kwargs)
    except KeyTaken:
        return True
    return False


def _conditional(key: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """The call's response; KeyTaken when the server refused it because of the object under `key`."""
    try:
        return call(*args, **kwargs)
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = error.response.get("Error", {}).get("Code", "")
        if status == 412 or code == "ConditionalRequestConflict":
            raise KeyTaken(f"{key}: {code or status}") from error
        raise


def _read_up_to(content: Any, size: int) -> bytes:
    """`size` bytes of `content`, fewer only at its end (a stream's `read` may return less before it)."""
    data = bytearray()
    while len(data) < size and (chunk := content.read(size - len(data))):
        data += chunk
    return bytes(data)


def _chunks(content: Any, size: int, first: bytes) -> Iterator[bytes]:
    """The bytes `first` then the rest of `content`, in chunks of `size` (the last one shorter)."""
    buffer = first
    while True:
        while len(buffer) >= size:
            yield buffer[:size]
            buffer = buffer[size:]
        more = _read_up_to(content, size - len(buffer))
        if not more:
            if buffer:
                yield buffer
            return
        buffer += more
