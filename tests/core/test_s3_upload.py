"""How a conditional upload cuts a stream into parts (core.s3_upload); the requests are tested on the S3 server
(tests/s3)."""

import io
import os

from core.s3_upload import _chunks, _read_up_to


class Trickle(io.BytesIO):
    """A stream whose reads return at most 1,000 bytes, as a socket's may."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(1000 if size is None or size < 0 else min(size, 1000))


def test_a_stream_that_reads_short_is_cut_into_full_parts_after_the_first_read():
    data = os.urandom(25_000)
    stream = Trickle(data)

    first = _read_up_to(stream, 12_000)  # the threshold read, longer than a part
    parts = list(_chunks(stream, 10_000, first))

    assert len(first) == 12_000
    assert [len(part) for part in parts] == [10_000, 10_000, 5_000] and b"".join(parts) == data


def test_a_stream_of_whole_parts_ends_without_an_empty_part():
    data = os.urandom(20_000)
    stream = Trickle(data)

    parts = list(_chunks(stream, 10_000, _read_up_to(stream, 10_000)))

    assert [len(part) for part in parts] == [10_000, 10_000] and b"".join(parts) == data
