"""A streaming download with HTTP Range support (RFC 9110 §14), read through the storage API.

Django's FileResponse always sends the whole file. This answers a single byte range with 206 and
Content-Range, an unsatisfiable or malformed one with 416 (and `Content-Range: bytes */size`), and
everything else with 200. Several ranges in one request are answered with the whole file (allowed
by the RFC, and it spares a multipart body); a Range in another unit is ignored. With If-Range,
the range applies only while the ETag (the file's sha256) still matches. The body is read in
chunks from storage, so a download never holds the file in memory.

Storage is read once: the range is chosen from the size recorded when the file was stored, and the file is
opened at the range's start (core.storage.blob_open_at: one GET on object storage, ranged when the range does
not start at 0), before the response is returned, so a file that is gone is an error the caller can answer, and
no HEAD asks for the size first.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files import File
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header

from core.storage import blob_open_at

STREAM_CHUNK_BYTES = 256 * 1024
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(Exception):
    """The request's byte range lies outside the file (of `size` bytes) or cannot be parsed."""

    def __init__(self, message: str, *, size: int):
        super().__init__(message)
        self.size = size


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def byte_range_parse(header: str, size: int) -> ByteRange | None:
    """The range a `Range` header asks for in a file of `size` bytes; None means the whole file.

    Raises RangeNotSatisfiable for a malformed `bytes=` range or one that starts past the end.
    """
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    parts = specs.split(",")
    if len(parts) > 1:
        return None
    match = _RANGE_SPEC.match(parts[0])
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(f"malformed byte range {header!r}", size=size)
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(f"empty suffix range {header!r}", size=size)
        return ByteRange(max(size - length, 0), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        raise RangeNotSatisfiable(f"byte range {header!r} ends before it starts", size=size)
    if start >= size:
        raise RangeNotSatisfiable(f"byte range {header!r} starts past the end ({size} bytes)", size=size)
    return ByteRange(start, end)


class _RangeBody:
    """`length` bytes of an open stored file from where it stands, in chunks; the file is closed by `close`, which
    the response calls when it is done, whether the body was sent or not (a HEAD request)."""

    def __init__(self, handle: File, length: int):
        self.handle, self.length = handle, length

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.length
        while remaining > 0:
            chunk = self.handle.read(min(STREAM_CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.handle.close()


def ranged_stored_file_response(
    request: HttpRequest, *, key: str, size: int | None, content_type: str, filename: str, etag: str = ""
) -> StreamingHttpResponse:
    """Stream the stored file `key`, honouring a Range header; storage is read once, from the range's start.

    size: the file's size as recorded when it was stored (the range is chosen from it before storage is read);
    None when none was recorded: the size is then the stored file's, and a range reached by a seek.
    Raises FileNotFoundError when the file is gone, RangeNotSatisfiable (the caller answers 416 with
    `Content-Range: bytes */<its size>`).
    """
    header = request.headers.get("Range", "")
    if not (header and request.method in ("GET", "HEAD") and _if_range_holds(request, etag)):
        header = ""
    byte_range = byte_range_parse(header, size) if header and size is not None else None
    handle = blob_open_at(key, byte_range.start if byte_range else 0)
    try:
        if handle.size != size:  # none recorded, or the stored file is not the one recorded: its own size decides
            size = handle.size
            byte_range = byte_range_parse(header, size) if header else None
            handle.seek(byte_range.start if byte_range else 0)  # lazy: no request unless a read needs another part
    except BaseException:
        handle.close()
        raise
    selected = byte_range or ByteRange(0, size - 1)
    response = StreamingHttpResponse(_RangeBody(handle, selected.length), content_type=content_type)
    if byte_range is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    response["Content-Length"] = str(selected.length)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    if etag:
        response["ETag"] = f'"{etag}"'
    return response


def _if_range_holds(request: HttpRequest, etag: str) -> bool:
    """Without If-Range a range always applies; with it, only while the strong ETag matches."""
    condition = request.headers.get("If-Range")
    return condition is None or (bool(etag) and condition.strip() == f'"{etag}"')
