"""S3-compatible object storage (WINNOW_STORAGE=s3): django-storages' S3Storage with what Winnow relies on.

- Saving never replaces (as FileSystemStorage): `save` picks another name when the key is taken, which the
  callers count on (a checkpoint a killed attempt left is never overwritten by another attempt's file). Each
  try is one conditional write (IfNoneMatch="*", core.s3_upload), refused with 412 when an object stands under
  the key; then the next name Django's get_available_name would choose is tried. No HEAD probes a name first
  (django-storages' way: a request more per save, and a race between the probe and the PUT).
- The store must honour that condition, or a save would silently replace a stored file: the first save in a
  process (per endpoint and bucket) probes it (core.s3_upload.conditional_writes_verify: seven requests, once)
  and, on a store that ignores If-None-Match, this and every later save raise ConditionalWritesIgnored naming
  the endpoint; `manage.py check --deploy` runs the same probe (core.checks). No fallback to a HEAD before the
  PUT: two writers (two attempts of one job, one of them wrongly taken for lost) can both find a name free and
  the second PUT replaces the first's file without a trace, the very loss the condition exists to prevent; a
  warning in a log does not stop it. Refusing makes the deployment fail at its first save, loudly.
  `store_bytes` and `store_file` replace by design and need no probe.
- Every object carries the sha256 of its bytes in its metadata (`x-amz-meta-sha256`), so a worker's local
  copy (core.local_cache) can be verified against what was stored.
- Large files go up in parts (boto3's TransferConfig: WINNOW_S3_MULTIPART_* settings); a part upload that
  fails, or a completion refused because the key was taken meanwhile, aborts the multipart upload, so no
  object, whole or partial, appears under the key (and what stands there is never replaced).
- Reading streams with GETs: `open(key, "rb")` sends one GET of the whole object and returns a seekable stream
  over its body, whose size and ETag come from that response (no HEAD: a whole-object read is one round trip,
  and a missing object raises FileNotFoundError at `open` as on local disk). Seeks are lazy (core.s3_reads):
  a read after a seek continues the open response when the target lies at most SKIP_READ_MAX_BYTES ahead,
  else issues one ranged GET from there (seeking to the end and back, as FileResponse does to measure a file, costs
  nothing). django-storages' own file downloads the whole object to a temporary file before the first byte
  is returned, so a 1 KiB Range of a 10 GB export would fetch 10 GB. Every GET after the first is pinned to
  the first one's ETag: an object replaced while it is read fails the read (412) instead of mixing two
  versions.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.core.files import File
from django.core.files.utils import validate_file_name
from storages.backends.s3 import S3Storage
from storages.utils import ReadBytesWrapper, clean_name, is_seekable

from core.s3_reads import READ_BUFFER_BYTES, ObjectReader
from core.s3_upload import ConditionalWritesIgnored, KeyTaken, conditional_writes_verify, object_create

SHA256_METADATA = "sha256"
HASH_CHUNK_BYTES = 4 * 1024 * 1024
DELETE_OBJECTS_MAX_KEYS = 1000  # S3's limit on the keys of one DeleteObjects request
# The names a save in progress (in this thread or task) found taken: get_available_name skips them.
_TAKEN_NAMES: ContextVar[frozenset[str]] = ContextVar("winnow_s3_taken_names", default=frozenset())
# (endpoint, bucket) -> "" when the store refused the probe's conditional writes, else why saves are refused.
_CONDITIONAL_WRITES: dict[tuple[str, str], str] = {}
_CONDITIONAL_WRITES_LOCK = threading.Lock()


class S3ObjectStorage(S3Storage):
    """S3Storage that never overwrites on save, records sha256 metadata and reads with ranged GETs."""

    def get_default_settings(self) -> dict[str, Any]:
        return {**super().get_default_settings(), "file_overwrite": False}

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        """Store `content` under `name`, or under the next name get_available_name gives when an object stands
        there; the name it was stored under. One conditional write per try, no HEAD (see the module's docstring).
        Raises FileExistsError when the name is taken and `content` cannot be read again from its start, and
        ConditionalWritesIgnored when the store does not honour the condition (nothing is written)."""
        self.conditional_writes_check()
        if name is None:
            name = content.name
        if not hasattr(content, "chunks"):
            content = File(content, name)
        validate_file_name(name, allow_relative_path=True)
        taken: frozenset[str] = frozenset()
        while True:
            reset = _TAKEN_NAMES.set(taken)
            try:
                candidate = self.get_available_name(name, max_length=max_length)
            finally:
                _TAKEN_NAMES.reset(reset)
            validate_file_name(candidate, allow_relative_path=True)
            try:
                return self._save(candidate, content)
            except KeyTaken:
                if not is_seekable(content):
                    raise FileExistsError(f"{candidate} is taken and the file cannot be read again") from None
                taken |= {candidate}

    def conditional_writes_check(self) -> None:
        """ConditionalWritesIgnored unless the store refuses a conditional write onto an existing key: probed
        once per process, endpoint and bucket (the verdict is kept; an error that prevents one is not)."""
        store = (str(self.connection.meta.client.meta.endpoint_url), self.bucket_name)
        with _CONDITIONAL_WRITES_LOCK:
            if store not in _CONDITIONAL_WRITES:
                try:
                    conditional_writes_verify(self.connection.meta.client, self.bucket_name, self.location)
                    _CONDITIONAL_WRITES[store] = ""
                except ConditionalWritesIgnored as ignored:
                    _CONDITIONAL_WRITES[store] = str(ignored)
        if _CONDITIONAL_WRITES[store]:
            raise ConditionalWritesIgnored(_CONDITIONAL_WRITES[store])

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        """Free unless this save found it taken (or it is too long): the conditional write is the probe."""
        return name not in _TAKEN_NAMES.get() and not (max_length and len(name) > max_length)

    def _save(self, name: str, content: Any) -> str:
        """Write `content` under `name` if no object stands there (KeyTaken if one does): one PUT, or the requests
        of a multipart upload. django-storages' own `_save` replaces whatever is there."""
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)  # the sha256 metadata: a first pass over the bytes
        if is_seekable(content):
            content.seek(0)
        body: Any = ReadBytesWrapper(content)
        size = _size(content)
        if self.gzip and params["ContentType"] in self.gzip_content_types and "ContentEncoding" not in params:
            body, params["ContentEncoding"], size = self._compress_content(body), "gzip", None
        client = self.connection.meta.client
        object_create(client, self.bucket_name, key, body, params=params, config=self.transfer_config, size=size)
        return cleaned

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


def _content_sha256(content: Any) -> str:
    """sha256 of a seekable file's bytes, read from the start; the file is left at its start."""
    content.seek(0)
    digest = hashlib.sha256()
    while chunk := content.read(HASH_CHUNK_BYTES):
        digest.update(chunk.encode() if isinstance(chunk, str) else chunk)
    content.seek(0)
    return digest.hexdigest()


def _size(content: Any) -> int | None:
    """The file's size where it can tell (File.size measures a stream by seeking; some streams cannot)."""
    try:
        return int(content.size)
    except (AttributeError, OSError, TypeError, ValueError):
        return None


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
