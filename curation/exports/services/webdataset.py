"""WebDataset shards: `<split>-<000000>.tar` per split, each sample as `<sha256>.<ext>` (the image),
`<sha256>.json` (its manifest row) and, when labeled, `<sha256>.cls` (the primary label's index in
`classes.txt`, which lists the version's classes one per line).

A shard is closed after `shard_size` samples, or before a sample would take it past
`shard_max_bytes`; each shard is a plain (uncompressed) tar streamed from the blobs in storage.
"""

import io
import tarfile
from contextlib import ExitStack
from typing import IO

from django.core.files.storage import default_storage

from curation.exports.selectors import ExportMember, export_member_batches, version_class_names
from curation.exports.services.layout import image_extension
from curation.exports.services.writing import ExportWriting, WriterSummary
from curation.models import Split

CLASSES_NAME = "classes.txt"
TAR_BLOCK = tarfile.BLOCKSIZE
SPLITS = (Split.TRAIN, Split.VAL, Split.TEST, Split.UNASSIGNED)


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


class _ShardSequence:
    """The shards of one split: opens the next when the current one is full."""

    def __init__(self, run: ExportWriting, split: str):
        self.run, self.split = run, split
        self.index, self.count, self.bytes = -1, 0, 0
        self._stack: ExitStack | None = None
        self.tar: tarfile.TarFile | None = None

    def make_room(self, sample_bytes: int) -> tarfile.TarFile:
        limit = self.run.options.shard_max_bytes
        full = self.count >= self.run.options.shard_size or (
            limit is not None and self.count > 0 and _tar_file_bytes(self.bytes + sample_bytes) > limit
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
        self.count, self.bytes = 0, 2 * TAR_BLOCK  # the end-of-archive blocks
        self._stack = ExitStack()
        out: IO[bytes] = self._stack.enter_context(self.run.outputs.open(shard_name(self.split, self.index)))
        self.tar = self._stack.enter_context(tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT))  # noqa: SIM115

    def close(self, error: BaseException | None) -> None:
        """Store the open shard; with `error`, discard it instead (a failed shard is never stored)."""
        if self._stack is not None:
            stack, self._stack, self.tar = self._stack, None, None
            if error is None:
                stack.close()
            else:
                stack.__exit__(type(error), error, error.__traceback__)


def webdataset_write(run: ExportWriting) -> WriterSummary:
    classes = version_class_names(run.version)
    class_index = {name: index for index, name in enumerate(classes)}
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


def _sample_add(run: ExportWriting, shards: _ShardSequence, member: ExportMember, class_index: dict[str, int]) -> None:
    extras = [(".json", run.layout.manifest_line(member).rstrip(b"\n"))]
    if member.label:
        extras.append((".cls", str(class_index[member.label]).encode()))
    with default_storage.open(member.image_key, "rb") as image:
        size = image.size
        sample_bytes = sum(_tar_bytes(len(data)) for _, data in extras) + _tar_bytes(size)
        tar = shards.make_room(sample_bytes)
        tar.addfile(_tar_info(run, member.sha256 + image_extension(member.image_key), size), image)
    for suffix, data in extras:
        tar.addfile(_tar_info(run, member.sha256 + suffix, len(data)), io.BytesIO(data))


def _tar_file_bytes(content: int) -> int:
    """A tar file's size for `content` bytes of members and end blocks: whole records of RECORDSIZE."""
    return -(-content // tarfile.RECORDSIZE) * tarfile.RECORDSIZE


def _tar_bytes(size: int) -> int:
    """A member's bytes in a tar: a header block and its data padded to whole blocks (PAX extras aside)."""
    return TAR_BLOCK + -(-size // TAR_BLOCK) * TAR_BLOCK


def _tar_info(run: ExportWriting, name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, int(run.timestamp.timestamp())
    info.uname = info.gname = ""
    return info
