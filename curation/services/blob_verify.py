"""Checking the stored blobs that sample rows reference (`manage.py verify_blobs [--repair]`).

Per sample row (a blob several rows share is checked for each row, and its problem listed once):
- the original: present, of the row's `file_size`, and hashing to the row's `sha256`;
- the mask: present, not empty, and hashing to the digest its key is named after
  (`masks/ab/<sha256>.png`);
- the thumbnail: present, not empty and readable as an image (its key is named after the original,
  so there is no hash to compare it with).

With `repair`:
- a damaged original or mask is deleted, under its key's lock and unless an import has claimed the
  key (that import is storing it again): a file that decodes to garbage is worse than none, and the
  next import of the same bytes, into any dataset, stores them again under the same key, which
  mends every row that names it;
- the samples whose original or mask is damaged or missing are reported as needing re-import;
- a damaged or missing thumbnail is made again from an intact original;
- temporary files of writers killed mid-write (older than TEMPORARY_AGE_S) are deleted.
"""

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from core.storage import blob_delete, blob_read, blob_save, blob_sha256, blob_size, blob_temporaries
from curation.models import Sample
from curation.services.blob_claims import blobs_collect
from curation.services.ingest import image_decode

SAMPLE_CHUNK = 1000
TEMPORARY_AGE_S = 3600.0
BLOB_PREFIXES = ("images", "thumbnails", "masks")
REIMPORT_IDS_INLINE = 1000
MISSING = "no file under the key"

Check = Callable[[], str | None]


@dataclass
class BlobProblem:
    key: str
    problem: str  # "missing" or "damaged"
    reason: str
    check: Check  # the check again: a repair re-runs it under the key's lock
    sample_ids: list[int] = field(default_factory=list)
    outcome: str = ""

    def line(self) -> str:
        samples = ", ".join(str(pk) for pk in self.sample_ids[:10]) + (", …" if len(self.sample_ids) > 10 else "")
        outcome = f": {self.outcome}" if self.outcome else ""
        return f"{self.problem} {self.key}: {self.reason} (samples {samples}){outcome}"


@dataclass
class BlobVerification:
    samples: int = 0
    blobs_checked: int = 0
    problems: dict[str, BlobProblem] = field(default_factory=dict)
    reimport: dict[int, int] = field(default_factory=dict)  # sample id -> dataset id
    deleted: int = 0
    thumbnails_remade: int = 0
    temporaries_deleted: int = 0

    def summary(self, *, repair: bool) -> dict[str, Any]:
        kinds = Counter(problem.problem for problem in self.problems.values())
        return {
            "repair": repair,
            "samples": self.samples,
            "blobs_checked": self.blobs_checked,
            "missing": kinds["missing"],
            "damaged": kinds["damaged"],
            "deleted": self.deleted,
            "thumbnails_remade": self.thumbnails_remade,
            "temporaries_deleted": self.temporaries_deleted,
            "reimport": {
                "samples": len(self.reimport),
                "sample_ids": sorted(self.reimport)[:REIMPORT_IDS_INLINE],
                "datasets": dict(sorted(Counter(self.reimport.values()).items())),
            },
        }


def sample_blobs_verify(*, repair: bool = False, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Re-check every blob that sample rows reference; with `repair`, mend what can be mended.

    Args:
        repair: delete damaged originals and masks, remake thumbnails, delete stale temporary files.
        log: receives one line per problem found (and what the repair did about it).
    Returns the counts, and the samples needing re-import (ids, the first REIMPORT_IDS_INLINE, and a
    count per dataset).
    """
    result = BlobVerification()
    rows = Sample.objects.order_by("pk").values_list(
        "pk", "dataset_id", "sha256", "file_size", "image_key", "thumbnail_key", "mask_key"
    )
    last = 0
    while chunk := list(rows.filter(pk__gt=last)[:SAMPLE_CHUNK]):
        for row in chunk:
            _sample_check(result, *row)
        last = chunk[-1][0]
    if repair:
        _repair(result)
    for problem in result.problems.values():
        log(problem.line())
    return result.summary(repair=repair)


def _sample_check(
    result: BlobVerification, pk: int, dataset_id: int, sha256: str, size: int, image: str, thumbnail: str, mask: str
) -> None:
    result.samples += 1
    checks: list[tuple[str, Check, bool]] = [
        (image, lambda: _original_problem(image, size, sha256), True),
        (thumbnail, lambda: _thumbnail_problem(thumbnail), False),
    ]
    if mask:
        checks.append((mask, lambda: _mask_problem(mask), True))
    for key, check, needs_reimport in checks:
        result.blobs_checked += 1
        problem = result.problems.get(key)
        reason = problem.reason if problem else check()
        if reason is None:
            continue
        if problem is None:
            problem = result.problems[key] = BlobProblem(key, _problem_kind(reason), reason, check)
        problem.sample_ids.append(pk)
        if needs_reimport:
            result.reimport[pk] = dataset_id


def _problem_kind(reason: str) -> str:
    return "missing" if reason == MISSING else "damaged"


def _original_problem(key: str, size: int, sha256: str) -> str | None:
    stored = blob_size(key)
    if stored is None:
        return MISSING
    if stored != size:
        return f"{stored:,} bytes stored, the sample has {size:,}"
    digest = blob_sha256(key)
    return None if digest == sha256 else f"the bytes hash to {digest[:16]}…, the sample's to {sha256[:16]}…"


def _mask_problem(key: str) -> str | None:
    stored = blob_size(key)
    if stored is None:
        return MISSING
    if stored == 0:
        return "empty (0 bytes)"
    named = key.rsplit("/", 1)[-1].split(".", 1)[0]
    if len(named) != 64:  # not named after its content: nothing to compare with
        return None
    digest = blob_sha256(key)
    return None if digest == named else f"the bytes hash to {digest[:16]}…, the key names {named[:16]}…"


def _thumbnail_problem(key: str) -> str | None:
    stored = blob_size(key)
    if stored is None:
        return MISSING
    if stored == 0:
        return "empty (0 bytes)"
    try:
        with Image.open(io.BytesIO(blob_read(key))) as image:
            image.load()
    except Exception as exc:  # any decoder error means the same: not a usable thumbnail
        return f"not a readable image ({type(exc).__name__}: {exc})"
    return None


def _repair(result: BlobVerification) -> None:
    problems = result.problems
    damaged = [key for key, problem in problems.items() if problem.problem == "damaged" and _is_stored_bytes(key)]
    deleted = set(blobs_collect(damaged, needed=lambda keys: {key for key in keys if problems[key].check() is None}))
    for key in damaged:
        problems[key].outcome = "deleted" if key in deleted else "kept: an import is storing it, or it was mended"
    result.deleted = len(deleted)
    for key, problem in problems.items():
        if key.startswith("thumbnails/"):
            result.thumbnails_remade += _thumbnail_remake(problem, problems)
    for key in blob_temporaries(BLOB_PREFIXES, older_than_s=TEMPORARY_AGE_S):
        blob_delete(key)
        result.temporaries_deleted += 1


def _is_stored_bytes(key: str) -> bool:
    """Originals and masks: the bytes a re-import brings back (a thumbnail is remade instead)."""
    return not key.startswith("thumbnails/")


def _thumbnail_remake(problem: BlobProblem, problems: dict[str, BlobProblem]) -> int:
    sample = Sample.objects.filter(pk=problem.sample_ids[0]).only("image_key").first()
    if sample is None or sample.image_key in problems:
        problem.outcome = "not remade: the original is not intact"
        return 0
    try:
        thumbnail = image_decode(blob_read(sample.image_key)).thumbnail
    except Exception as exc:  # an original that no longer decodes (a newer limit, say)
        problem.outcome = f"not remade: the original does not decode ({exc})"
        return 0
    blob_save(key=problem.key, data=thumbnail, replace=True)
    problem.outcome = "remade from the original"
    return 1
