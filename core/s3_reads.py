"""Reading a stored object as a seekable stream of GETs (core.s3's `open`; see its module docstring)."""

from __future__ import annotations

import io
from typing import Any

from botocore.exceptions import ClientError

READ_BUFFER_BYTES = 1024 * 1024
# A forward seek shorter than this reads on through the open response instead of starting a new GET.
SKIP_READ_MAX_BYTES = 1024 * 1024


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


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
