"""One file's way through an import, and the run state it updates.

A file is prepared on a decode thread (read, decode, hash, thumbnail, mask: no side effects), then
recorded on the job's thread, in path order, as a new sample (its blob keys claimed, a few samples per
transaction, then its blobs stored on the pool, its row left for the batch's flush), a duplicate of an
earlier file, or a rejection.
"""

import io
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from curation.models import Dataset, Sample
from curation.services.archives import EntryRejected, SourceReader, path_is_archive
from curation.services.blob_claims import blob_claims_take
from curation.services.imports.report import ImportReport
from curation.services.ingest import (
    DecodedImage,
    ImageRejected,
    SampleBlobKeys,
    image_decode,
    mask_encode,
    sample_blob_keys,
    sample_stage,
)
from curation.services.manifests import ImportEntry, ReportLine
from jobs.models import Job

CLAIM_GROUP_MAX_BYTES = 32 * 1024 * 1024


@dataclass
class FirstCopy:
    """The file that became a sample: its blob keys, its blobs being stored, then (after the flush) its row id."""

    path: str
    label: str
    keys: SampleBlobKeys
    staged: "Future[Sample] | None" = None
    sample_id: int | None = None


@dataclass
class ImportRun:
    """One import's state: the decode threads read only `reader` and `max_pixels`; the rest is the job thread's."""

    job: Job
    dataset: Dataset
    reader: SourceReader
    report: ImportReport
    max_pixels: int
    pool: ThreadPoolExecutor
    in_flight: int
    first_by_hash: dict[str, FirstCopy] = field(default_factory=dict)
    members: list[tuple[int, ImportEntry]] = field(default_factory=list)
    staged: deque["Future[Sample]"] = field(default_factory=deque)
    pending_samples: list[tuple[FirstCopy, ImportEntry]] = field(default_factory=list)
    pending_aliases: list[tuple[FirstCopy, str]] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)
    unclaimed: list[tuple[FirstCopy, ImportEntry, "Prepared"]] = field(default_factory=list)
    unclaimed_bytes: int = 0
    claims: list[int] = field(default_factory=list)

    def claim_due(self) -> bool:
        """Whether the recorded samples waiting for their claim make a group: as many as the files in
        flight (one transaction per group), or fewer when their bytes add up to CLAIM_GROUP_MAX_BYTES."""
        return len(self.unclaimed) >= self.in_flight or self.unclaimed_bytes >= CLAIM_GROUP_MAX_BYTES


@dataclass(frozen=True)
class Prepared:
    data: bytes
    decoded: DecodedImage
    mask_png: bytes | None


def entry_prepare(run: ImportRun, entry: ImportEntry) -> Prepared:
    """Read, decode, hash and thumbnail a file, and encode its mask: no side effects (a decode thread)."""
    data = _entry_bytes(run.reader, entry.path)
    decoded = _image_decode(data, run.max_pixels)
    return Prepared(data, decoded, _mask_png(run, entry, decoded))


def entry_record(run: ImportRun, entry: ImportEntry, future: "Future[Prepared]") -> ReportLine:
    try:
        prepared = future.result()
    except EntryRejected as exc:
        return ReportLine(entry.path, "rejected", f"line {entry.line}: {exc.reason}" if entry.line else exc.reason)
    first = run.first_by_hash.get(prepared.decoded.sha256)
    if first is not None:
        return _duplicate_record(run, entry, first)
    return _sample_record(run, entry, prepared)


def _entry_bytes(reader: SourceReader, path: str) -> bytes:
    if path_is_archive(path):
        raise EntryRejected("nested archive: not supported, not extracted")
    return reader.read(path)


def _image_decode(data: bytes, max_pixels: int) -> DecodedImage:
    try:
        return image_decode(data, max_pixels=max_pixels)
    except ImageRejected as exc:
        raise EntryRejected(exc.reason)
    except (OSError, SyntaxError, ValueError) as exc:  # raised while Pillow reads the header
        raise EntryRejected(f"truncated or corrupt image data ({exc})")
    except Exception as exc:  # hostile bytes can trip any decoder error; one file must not stop the import
        raise EntryRejected(f"could not decode the image ({type(exc).__name__}: {exc})")


def _mask_png(run: ImportRun, entry: ImportEntry, decoded: DecodedImage) -> bytes | None:
    if not entry.mask_path:
        return None
    try:
        raw = _entry_bytes(run.reader, entry.mask_path)
        _mask_size_check(raw, run.max_pixels)
        return mask_encode(raw, size=(decoded.width, decoded.height))
    except (EntryRejected, ImageRejected) as exc:
        raise EntryRejected(f"mask {entry.mask_path}: {exc.reason}")
    except Exception as exc:
        raise EntryRejected(f"mask {entry.mask_path}: not a readable image ({type(exc).__name__}: {exc})")


def _mask_size_check(raw: bytes, max_pixels: int) -> None:
    """Refuse a mask bomb from its header, before mask_encode decodes the pixels."""
    with Image.open(io.BytesIO(raw)) as mask:
        width, height = mask.size
    if width * height > max_pixels:
        raise EntryRejected(f"decompression bomb: {width}×{height} pixels exceeds the limit of {max_pixels:,}")


def _duplicate_record(run: ImportRun, entry: ImportEntry, first: FirstCopy) -> ReportLine:
    run.pending_aliases.append((first, entry.path))
    if entry.label != first.label:
        return ReportLine(
            entry.path,
            "conflict",
            f"exact duplicate of {first.path} with another label: kept {first.label!r}, ignored {entry.label!r}",
        )
    return ReportLine(entry.path, "duplicate", f"exact duplicate of {first.path}: stored once, kept as an alias")


def _sample_record(run: ImportRun, entry: ImportEntry, prepared: Prepared) -> ReportLine:
    first = FirstCopy(entry.path, entry.label, sample_blob_keys(prepared.decoded, prepared.mask_png))
    run.first_by_hash[prepared.decoded.sha256] = first
    run.pending_samples.append((first, entry))
    run.pending_aliases.append((first, entry.path))
    run.classes.update(entry.labels)
    run.unclaimed.append((first, entry, prepared))
    run.unclaimed_bytes += len(prepared.data)
    if run.claim_due():
        samples_claim_and_stage(run)
    return ReportLine(entry.path, "imported")


def samples_claim_and_stage(run: ImportRun) -> None:
    """Claim the blob keys of the samples recorded since the last call, in one transaction, then store
    their blobs on the pool: from now until the batch's flush inserts their rows (and drops the claims),
    no other job's cleanup deletes those blobs, even where this import was told they exist."""
    group, run.unclaimed, run.unclaimed_bytes = run.unclaimed, [], 0
    if not group:
        return
    run.claims += blob_claims_take([key for first, _, _ in group for key in first.keys.all()], job_id=run.job.pk)
    for first, entry, prepared in group:
        _sample_stage_submit(run, first, entry, prepared)


def _sample_stage_submit(run: ImportRun, first: FirstCopy, entry: ImportEntry, prepared: Prepared) -> None:
    provenance: dict[str, Any] = {"original_path": entry.path}
    if entry.line is not None:
        provenance["manifest_line"] = entry.line
    while len(run.staged) >= run.in_flight:  # bounds the file bytes waiting to be stored
        futures_wait([run.staged.popleft()])
    first.staged = run.pool.submit(
        sample_stage,
        dataset=run.dataset,
        data=prepared.data,
        original_name=entry.path,
        decoded=prepared.decoded,
        mask_png=prepared.mask_png,
        caption=entry.caption,
        provenance=provenance,
        job_id=run.job.pk,
        keys=first.keys,
    )
    run.staged.append(first.staged)
