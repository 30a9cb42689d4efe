"""The contract between the export job and its format writers.

A writer is `write(run: ExportWriting) -> WriterSummary`: it iterates the version's members in
keyset batches (`export_member_batches`), streams each blob from storage into the outputs it opens
with `run.outputs.open(name)`, and calls `run.advance(n)` after each batch (progress, and where a
cancel lands). It never holds more than a batch of rows and one blob's chunk in memory.
"""

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from curation.exports.services.layout import ExportLayout
from curation.exports.services.outputs import ExportOutputs
from curation.models import DatasetVersion

DEFAULT_SHARD_SIZE = 1000
MAX_SHARD_SIZE = 1_000_000
MIN_SHARD_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ExportOptions:
    """Format options. shard_size: samples per WebDataset shard; shard_max_bytes: a shard is closed
    before it would grow past this many bytes (None: no byte limit); csv_escape_formulas: the CSV
    manifest prefixes cells a spreadsheet would run as a formula with "'" (off: cells as stored)."""

    shard_size: int = DEFAULT_SHARD_SIZE
    shard_max_bytes: int | None = None
    csv_escape_formulas: bool = False

    def as_dict(self) -> dict[str, Any]:
        options: dict[str, Any] = {"shard_size": self.shard_size}
        if self.shard_max_bytes is not None:
            options["shard_max_bytes"] = self.shard_max_bytes
        return options


@dataclass
class ExportWriting:
    version: DatasetVersion
    options: ExportOptions
    outputs: ExportOutputs
    layout: ExportLayout
    advance: Callable[[int], None]
    timestamp: datetime

    @property
    def zip_date_time(self) -> tuple[int, int, int, int, int, int]:
        stamp = max(self.timestamp.replace(tzinfo=None), datetime(1980, 1, 1))
        return (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)

    def zip_info(self, name: str, *, size: int = 0, deflate: bool = False) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.zip_date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        info.file_size = size
        info.external_attr = 0o644 << 16
        return info


@dataclass(frozen=True)
class WriterSummary:
    samples: int


ExportWriter = Callable[[ExportWriting], WriterSummary]
