"""S3-compatible object storage (WINNOW_STORAGE=s3): django-storages' S3Storage with what Winnow relies on.

- Saving never replaces (as FileSystemStorage): `save` picks another name when the key is taken, which the
  callers count on (a checkpoint a killed attempt left is never overwritten by another attempt's file).
- Every object carries the sha256 of its bytes in its metadata (`x-amz-meta-sha256`), so a worker's local
  copy (core.local_cache) can be verified against what was stored.
- Large files go up in parts (boto3's TransferConfig: WINNOW_S3_MULTIPART_* settings); a part upload that
  fails aborts the multipart upload, so no object, whole or partial, appears under the key.
- Reading streams with GETs: `open(key, "rb")` sends one GET of the whole object and returns a seekable stream
  over its body, whose size and ETag come from that response (no HEAD: a whole-object read is one round trip,
  and a missing object raises FileNotFoundError at `open` as on local disk). Seeks are lazy: a read after a
  seek continues the open response when the target lies at most SKIP_READ_MAX_BYTES ahead, else issues one
  ranged GET from there (seeking to the end and back, as FileResponse does to measure a file, costs
  nothing). django-storages' own file downloads the whole object to a temporary file before the first byte
  is returned, so a 1 KiB Range of a 10 GB export would fetch 10 GB. Every GET after the first is pinned to
  the first one's ETag: an object replaced while it is read fails the read (412) instead of mixing two
  versions.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, is_seekable

SHA256_METADATA = "sha256"
HASH_CHUNK_BYTES = 4 * 1024 * 1024
READ_BUFFER_BYTES = 1024 * 1024
# A forward seek shorter than this reads on through the open response instead of starting a new GET.
SKIP_READ_MAX_BYTES = 1024 * 1024
DELETE_OBJECTS_MAX_KEYS = 1000  # S3's limit on the keys of one DeleteObjects request


class S3ObjectStorage(S3Storage):
    """S3Storage that never overwrites on save, records sha256 metadata and reads with ranged GETs."""

    def get_default_settings(self) -> dict[str, Any]:
        return {**super().get_default_settings(), "file_overwrite": False}

    def _get_write_parameters(self, name: str, content: Any = None) -> dict[str, Any]:
        params = super()._get_write_parameters(name, content)
        if content is not None and is_seekable(content):
            params["Metadata"] = {**params.get("Metadata", {}), SHA256_METADATA: _content_sha256(content)}
        return params

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode or "+" in mode:
            return super()._open(name, mode)
        return self.open_from(name, 0, text="b" not in mode)

    def open_from(self, name: str, start: int, *, text: bool = False) -> File:
        """The object opened for reading at byte `start`, with one GET: of the whole object from 0, else of the
        range from `start` to its end (a download of a byte range); FileNotFoundError when there is none."""
        key = self._normalize_name(clean_name(name))
        reader = ObjectReader(self.connection.meta.client, self.bucket_name, key, None, "")
        reader.seek(start)
        reader.start()  # the GET: FileNotFoundError now, and the size and ETag for what follows
        stream = io.BufferedReader(reader, READ_BUFFER_BYTES)
        file: File = File(io.TextIOWrapper(stream, encoding="utf-8") if text else stream, name=name)
        if reader.size is not None:  # File.size would otherwise seek to the end and back to measure the stream
            file.size = reader.size
        return file

    def head(self, name: str) -> dict[str, Any]:
        """The object's HEAD response (ContentLength, ETag, Metadata); FileNotFoundError when there is none."""
        key = self._normalize_name(clean_name(name))
        try:
            return self.connection.meta.client.head_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                raise FileNotFoundError(f"{name} does not exist in storage") from None
            raise

    def stored_sha256(self, name: str) -> str:
        """The sha256 recorded in the object's metadata ("" for an object stored without it)."""
        return str(self.head(name).get("Metadata", {}).get(SHA256_METADATA, ""))

    def store_file(self, name: str, path: Path, *, sha256: str) -> None:
        """Upload the local file at `path` under `name`, replacing any object there (a PUT is atomic).

        Multipart above the transfer config's threshold, parts read from the file in parallel.
        """
        key = self._normalize_name(clean_name(name))
        params = {**self._get_write_parameters(key), "Metadata": {SHA256_METADATA: sha256}}
        self.bucket.Object(key).upload_file(str(path), ExtraArgs=params, Config=self.transfer_config)

    def store_bytes(self, name: str, data: bytes, *, sha256: str) -> None:
        """PUT `data` under exactly `name` in one request, replacing any object there (a PUT is atomic).

        No free-name probe as `save` does (a HEAD per call): for content-addressed blobs, whose bytes under a
        key are the same whoever writes them.
        """
        key = self._normalize_name(clean_name(name))
        params = {**self._get_write_parameters(key), "Metadata": {SHA256_METADATA: sha256}}
        self.connection.meta.client.put_object(Bucket=self.bucket_name, Key=key, Body=data, **params)

    def delete_many(self, names: Iterable[str]) -> dict[str, str]:
        """Delete the objects `names`, one DeleteObjects request per DELETE_OBJECTS_MAX_KEYS keys (`delete` sends one
        request per key). A missing object is no error (S3 reports its key deleted). Returns {name: "Code: Message"}
        for each object the server did not delete (the request's quiet mode lists only those); a request refused
        whole raises as any other.
        """
        client = self.connection.meta.client
        errors: dict[str, str] = {}
        names_of: dict[str, str] = {}  # the object's key (under the storage's location) -> the name asked for
        for name in names:
            names_of[self._normalize_name(clean_name(name))] = name
            if len(names_of) == DELETE_OBJECTS_MAX_KEYS:
                errors.update(self._objects_delete(client, names_of))
                names_of = {}
        if names_of:
            errors.update(self._objects_delete(client, names_of))
        return errors

    def _objects_delete(self, client: Any, names_of: dict[str, str]) -> dict[str, str]:
        objects = [{"Key": key} for key in names_of]
        response = client.delete_objects(Bucket=self.bucket_name, Delete={"Objects": objects, "Quiet": True})
        return {
            names_of.get(error["Key"], error["Key"]): f"{error.get('Code', '')}: {error.get('Message', '')}"
            for error in response.get("Errors", ())
        }

    def download(self, name: str, target: Any, *, etag: str = "") -> None:
        """Stream the object into `target` (anything with `write`), pinned to `etag` when one is given."""
        key = self._normalize_name(clean_name(name))
        reader = ObjectReader(self.connection.meta.client, self.bucket_name, key, None, etag)
        while chunk := reader.read(HASH_CHUNK_BYTES):
            target.write(chunk)

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under the folder `prefix`, recursively (one listing, not one per sub-folder)."""
        folder = self._normalize_name(clean_name(prefix)).rstrip("/") + "/"
        paginator = self.connection.meta.client.get_paginator("list_objects_v2")
        start = len(self.location.rstrip("/")) + 1 if self.location else 0
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=folder):
            for entry in page.get("Contents", ()):
                yield entry["Key"][start:]

    def incomplete_uploads(self, prefix: str = "") -> list[dict[str, Any]]:
        """Multipart uploads started and neither completed nor aborted (a writer killed mid-upload)."""
        folder = self._normalize_name(clean_name(prefix)) if prefix else self.location
        paginator = self.connection.meta.client.get_paginator("list_multipart_uploads")
        pages = paginator.paginate(Bucket=self.bucket_name, Prefix=folder or "")
        return [upload for page in pages for upload in page.get("Uploads", ())]

    def abort_upload(self, upload: dict[str, Any]) -> None:
        self.connection.meta.client.abort_multipart_upload(
            Bucket=self.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"]
        )


class ObjectReader(io.RawIOBase):
    """A stored object as a seekable raw stream: one GET per run of sequential reads, none for a seek alone.

    The first GET pins the ETag (unless one was given) and gives the size; a seek only moves the position,
    and the next read either continues the open response (a target at most SKIP_READ_MAX_BYTES ahead) or
    drops it and sends a ranged GET from the target.
    """

    def __init__(self, client: Any, bucket: str, key: str, size: int | None, etag: str):
        super().__init__()
        self.client, self.bucket, self.key, self.size, self.etag = client, bucket, key, size, etag
        self._position = 0
        self._body: Any = None
        self._body_position = 0  # where the open response's next byte lies in the object

    def start(self) -> None:
        """Send the GET of the whole object now (`open` does): FileNotFoundError when there is none."""
        if self._body is None:
            self._body = self._get()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence not in (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END):
            raise ValueError(f"invalid whence ({whence})")
        # the size only for SEEK_END: before the first GET it would cost a HEAD
        base = 0 if whence == io.SEEK_SET else self._position if whence == io.SEEK_CUR else self._size()
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self.size is not None and self._position >= self.size:
            return 0
        self._body_align()
        if self._body is None:
            self._body = self._get()
            if self._body is None:  # a range starting at the end of the object
                return 0
        data = self._body.read(len(buffer))
        if not data and (self.size is None or self._position < self.size):
            self._drop_body()  # the server ended the response early: ask again from where it stopped
            self._body = self._get()
            data = self._body.read(len(buffer)) if self._body is not None else b""
            if not data and self.size is not None and self._position < self.size:
                raise OSError(f"{self.key}: the response ended at byte {self._position} of {self.size}")
        buffer[: len(data)] = data
        self._position += len(data)
        self._body_position = self._position
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()

    def _body_align(self) -> None:
        """Bring the open response to the position: read on through a short gap ahead, else drop it."""
        if self._body is None or self._body_position == self._position:
            return
        skip = self._position - self._body_position
        if 0 < skip <= SKIP_READ_MAX_BYTES:
            while skip > 0 and (data := self._body.read(min(skip, READ_BUFFER_BYTES))):
                skip -= len(data)
                self._body_position += len(data)
        if self._body_position != self._position:
            self._drop_body()

    def _get(self) -> Any:
        """A GET from the position on (the first from byte 0 asks for the whole object, without a Range)."""
        ranged = {"Range": f"bytes={self._position}-"} if self._position or self.size is not None else {}
        pinned = {"IfMatch": self.etag} if self.etag else {}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, **ranged, **pinned)
        except ClientError as error:
            if _status(error) == 416:
                return None
            if _status(error) == 404:
                raise FileNotFoundError(f"{self.key} does not exist in storage") from None
            raise
        if self.size is None:
            content_range = response.get("ContentRange")
            self.size = int(content_range.rpartition("/")[2]) if content_range else int(response["ContentLength"])
        self.etag = self.etag or response.get("ETag", "")
        self._body_position = self._position
        return response["Body"]

    def _size(self) -> int:
        if self.size is None:
            pinned = {"IfMatch": self.etag} if self.etag else {}
            self.size = int(self.client.head_object(Bucket=self.bucket, Key=self.key, **pinned)["ContentLength"])
        return self.size

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


def _content_sha256(content: Any) -> str:
    """sha256 of a seekable file's bytes, read from the start; the file is left at its start."""
    content.seek(0)
    digest = hashlib.sha256()
    while chunk := content.read(HASH_CHUNK_BYTES):
        digest.update(chunk.encode() if isinstance(chunk, str) else chunk)
    content.seek(0)
    return digest.hexdigest()


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
