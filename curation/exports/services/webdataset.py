"""WebDataset shards: `<split>-<000000>.tar` per split, each sample as `<sha256>.<ext>` (the image),
`<sha256>.json` (its manifest row) and, when labeled, `<sha256>.cls` (the primary label's index in
`classes.txt`, which lists the version's classes one per line).

A shard is closed after `shard_size` samples, or before a sample would take it past
`shard_max_bytes`; each shard is a plain (uncompressed) POSIX ustar file streamed from the blobs.

Choices made: the tar headers are written here (UstarWriter) rather than by `tarfile`, whose
general-purpose header code costs several times the copying of a small image. Member names are
ASCII and short (a sha256 and an extension), sizes stay below ustar's 8 GiB, so the plain ustar
format is exact; `tarfile`, GNU tar and `webdataset` read it (the tests read every shard back).
"""

import shutil
from contextlib import AbstractContextManager
from typing import IO

from django.core.files.storage import default_storage

from curation.exports.selectors import ExportMember, export_member_batches, version_class_names
from curation.exports.services.layout import image_extension
from curation.exports.services.outputs import COPY_CHUNK_BYTES
from curation.exports.services.writing import ExportWriting, WriterSummary
from curation.models import Split

CLASSES_NAME = "classes.txt"
SPLITS = (Split.TRAIN, Split.VAL, Split.TEST, Split.UNASSIGNED)
BLOCK = 512
RECORD = 20 * BLOCK  # tar files are padded to whole records, as tar(1) and tarfile write them
USTAR_MAX_SIZE = 8**11 - 1


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


class UstarWriter:
    """Writes regular-file members of a POSIX ustar archive (mode 0644, owner 0, one mtime)."""

    def __init__(self, out: IO[bytes], *, mtime: int):
        self.out = out
        self.written = 0
        template = bytearray(BLOCK)
        template[100:108] = b"0000644\0"
        template[108:116] = template[116:124] = b"0000000\0"
        template[136:148] = b"%011o\0" % mtime
        template[156:157] = b"0"  # a regular file
        template[257:265] = b"ustar\x0000"
        template[148:156] = b"        "  # the checksum is summed with its own field as spaces
        self._template = bytes(template)
        self._template_sum = sum(template)  # name and size are zeros in the template: their sums add to it

    def header(self, name: str, size: int) -> bytes:
        encoded = name.encode("ascii")
        if len(encoded) > 100 or size > USTAR_MAX_SIZE:
            raise ValueError(f"{name!r} ({size} bytes) does not fit a ustar header")
        size_field = b"%011o\0" % size
        checksum = b"%06o\0 " % (self._template_sum + sum(encoded) + sum(size_field))
        template = self._template
        parts = (encoded, template[len(encoded) : 124], size_field, template[136:148], checksum, template[156:])
        return b"".join(parts)

    def add_bytes(self, *members: tuple[str, bytes]) -> None:
        """Members held in memory, written with one call."""
        self._write(b"".join(self.header(name, len(data)) + data + _padding(len(data)) for name, data in members))

    def add_stream(
        self, name: str, source: IO[bytes], size: int, *, head: bytes = b"", then: tuple[tuple[str, bytes], ...] = ()
    ) -> None:
        """A member of `size` bytes: `head` (what the caller read already), then the rest of `source` copied in
        chunks; then `then`'s members."""
        self._write(self.header(name, size))
        self.out.write(head)
        shutil.copyfileobj(source, self.out, COPY_CHUNK_BYTES)
        self.written += size
        self._write(_padding(size))
        if then:
            self.add_bytes(*then)

    def finish(self) -> None:
        """The end-of-archive marker (two zero blocks), padded to a whole record."""
        end = self.written + 2 * BLOCK
        self._write(b"\0" * (2 * BLOCK + -end % RECORD))

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)


def member_bytes(size: int) -> int:
    """A member's bytes in a tar: its header block and its data padded to whole blocks."""
    return BLOCK + size + -size % BLOCK


def tar_file_bytes(content: int) -> int:
    """A tar file's size for `content` bytes of members: with the end blocks, in whole records."""
    end = content + 2 * BLOCK
    return end + -end % RECORD


class _ShardSequence:
    """The shards of one split: opens the next when the current one is full."""

    def __init__(self, run: ExportWriting, split: str):
        self.run, self.split = run, split
        self.index, self.count, self.bytes = -1, 0, 0
        self._output: AbstractContextManager[IO[bytes]] | None = None
        self.tar: UstarWriter | None = None

    def make_room(self, sample_bytes: int) -> UstarWriter:
        limit = self.run.options.shard_max_bytes
        full = self.count >= self.run.options.shard_size or (
            limit is not None and self.count > 0 and tar_file_bytes(self.bytes + sample_bytes) > limit
        )
        if self.tar is None or full:
            self.close(None)
            self._open_next()
        assert self.tar is not None
        self.count += 1
        self.bytes += sample_bytes
        return self.tar

    def _open_next(self) -> None:
        self.index += 1
        self.count, self.bytes = 0, 0
        self._output = self.run.outputs.open(shard_name(self.split, self.index))
        self.tar = UstarWriter(self._output.__enter__(), mtime=int(self.run.timestamp.timestamp()))

    def close(self, error: BaseException | None) -> None:
        """Store the open shard; with `error`, discard it instead (a failed shard is never stored)."""
        if self._output is None or self.tar is None:
            return
        output, tar, self._output, self.tar = self._output, self.tar, None, None
        if error is None:
            tar.finish()
            output.__exit__(None, None, None)
        else:
            output.__exit__(type(error), error, error.__traceback__)


def webdataset_write(run: ExportWriting) -> WriterSummary:
    classes = version_class_names(run.version)
    class_index = {name: str(index).encode() for index, name in enumerate(classes)}
    written = 0
    for split in SPLITS:
        shards = _ShardSequence(run, split)
        try:
            for batch in export_member_batches(run.version.pk, split=split):
                for member in batch:
                    _sample_add(run, shards, member, class_index)
                written += len(batch)
                run.advance(len(batch))
        except BaseException as error:
            shards.close(error)
            raise
        shards.close(None)
    with run.outputs.open(CLASSES_NAME) as out:
        out.write("".join(f"{name}\n" for name in classes).encode())
    return WriterSummary(samples=written)


def _sample_add(
    run: ExportWriting, shards: _ShardSequence, member: ExportMember, class_index: dict[str, bytes]
) -> None:
    extras = [(member.sha256 + ".json", run.layout.manifest_line(member)[:-1])]
    if member.label:
        extras.append((member.sha256 + ".cls", class_index[member.label]))
    name = member.sha256 + image_extension(member.image_key)
    with default_storage.open(member.image_key, "rb") as image:
        data = image.read(COPY_CHUNK_BYTES + 1)  # an image that fits one chunk is read whole, without a stat
        size = len(data) if len(data) <= COPY_CHUNK_BYTES else image.size
        tar = shards.make_room(member_bytes(size) + sum(member_bytes(len(extra)) for _, extra in extras))
        if len(data) <= COPY_CHUNK_BYTES:
            tar.add_bytes((name, data), *extras)
        else:
            tar.add_stream(name, image, size, head=data, then=tuple(extras))
