"""How well a prune run removed the demo's injected duplicates, from its recorded truth (docs/ARCHITECTURE.md §6).

Near duplicates are pairs of distinct samples (a re-rendered composite with jitter, a JPEG re-encode
or a brightness change). A pair counts as found when the run removed one of its two samples as a
duplicate (reason exact or semantic duplicate); precision is the share of the samples removed as
duplicates that belong to a pair whose other sample is in the version. Exact duplicates are the
same bytes under several file names: Winnow stores them as one sample, so every extra copy is gone
from the pruned version as long as at most one sample per group is kept (recall counts copies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.storage import blob_read
from curation.demo.truth import truth_groups, truth_loads
from curation.ml.pruning import PruneReason
from curation.models import DatasetVersion, Sample, VersionOperation

DUPLICATE_REASONS = (PruneReason.EXACT_DUPLICATE, PruneReason.SEMANTIC_DUPLICATE)


def demo_truth_for_version(version: DatasetVersion) -> dict[str, Any] | None:
    """The truth document of the demo build this version descends from, or None for other datasets."""
    current: DatasetVersion | None = version
    while current is not None:
        key = (current.operation_params or {}).get("truth_key")
        if current.operation == VersionOperation.DEMO and key:
            try:
                return truth_loads(blob_read(key))
            except (FileNotFoundError, ValueError):
                return None
        current = current.parent
    return None


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def demo_duplicate_scores(
    *,
    version: DatasetVersion,
    truth: dict[str, Any],
    sample_ids: np.ndarray,
    keep: np.ndarray,
    reason: np.ndarray,
) -> dict[str, Any]:
    """Precision and recall of the duplicate removals of one run against the truth (see the module comment)."""
    sample_of_hash = dict(Sample.objects.filter(dataset=version.dataset).values_list("sha256", "pk"))
    records = truth["samples"]
    position = {int(sample_id): i for i, sample_id in enumerate(sample_ids)}
    removed_as_duplicate = ~keep & np.isin(reason, [int(r) for r in DUPLICATE_REASONS])

    pairs, found = 0, 0
    by_transform: dict[str, tuple[int, int]] = {}
    in_pairs: set[int] = set()
    for names in truth_groups(truth, "near_duplicate_group").values():
        found_members = [position.get(sample_of_hash.get(records[name]["sha256"], -1)) for name in names]
        members = [m for m in found_members if m is not None]
        if len(members) < 2 or len(members) < len(found_members):
            continue
        pairs += 1
        hit = bool(removed_as_duplicate[members].any())
        found += hit
        in_pairs.update(members)
        transform = next(
            (
                records[name]["near_duplicate_transform"]
                for name in names
                if records[name].get("near_duplicate_transform")
            ),
            "unknown",
        )
        seen, hits = by_transform.get(transform, (0, 0))
        by_transform[transform] = (seen + 1, hits + hit)
    removed = np.flatnonzero(removed_as_duplicate)
    true_removals = int(sum(1 for i in removed if int(i) in in_pairs))

    copies, copies_removed = 0, 0
    for names in truth_groups(truth, "exact_duplicate_group").values():
        sample_id = sample_of_hash.get(records[names[0]]["sha256"], -1)
        kept_samples = int(sample_id in position and bool(keep[position[sample_id]]))
        copies += len(names) - 1
        copies_removed += min(len(names) - 1, len(names) - kept_samples)
    return {
        "near_duplicate_pairs": pairs,
        "near_duplicate_pairs_found": found,
        "near_duplicate_recall": _ratio(found, pairs),
        "near_duplicate_recall_by_transform": {
            name: _ratio(hits, seen) for name, (seen, hits) in sorted(by_transform.items())
        },
        "removed_as_duplicates": int(removed.size),
        "duplicate_precision": _ratio(true_removals, int(removed.size)),
        "exact_duplicate_copies": copies,
        "exact_duplicate_recall": _ratio(copies_removed, copies),
        "removed_total": int(np.count_nonzero(~keep)),
        "removed_in_near_pairs": int(sum(1 for i in np.flatnonzero(~keep) if int(i) in in_pairs)),
    }
