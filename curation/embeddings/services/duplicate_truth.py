"""Precision and recall of duplicate groups against the demo dataset's ground truth (docs/ARCHITECTURE.md §6).

The demo records, per file, its exact and near-duplicate group. Exact copies share a sha256, so
Winnow stores them as one sample: truth near groups are mapped to samples by sha256, and a truth
pair is two different samples of one near group. Predicted pairs ("near_pairs") are all pairs inside
one found group, so a group linked through a chain counts every pair in it; "near_edges" counts only
the pairs whose own cosine reached the threshold. Only embedded samples count.
Exact groups are compared as sets of file names.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any

from core.storage import blob_read
from curation.demo.truth import truth_groups, truth_loads
from curation.models import DatasetVersion, Sample, VersionOperation

if TYPE_CHECKING:  # FAISS loads with the duplicates job, not with this module
    from curation.ml.similarity import DuplicateGroup as FoundGroup


def demo_truth_document(version: DatasetVersion) -> dict[str, Any] | None:
    """The demo truth of the version or of the demo version it descends from; None for other datasets."""
    current: DatasetVersion | None = version
    while current is not None:
        if current.operation == VersionOperation.DEMO and current.operation_params.get("truth_key"):
            return truth_loads(blob_read(current.operation_params["truth_key"]))
        current = current.parent
    return None


def _scores(true_positives: int, predicted: int, actual: int) -> dict[str, Any]:
    return {
        "true_positives": true_positives,
        "false_positives": predicted - true_positives,
        "false_negatives": actual - true_positives,
        "precision": round(true_positives / predicted, 4) if predicted else None,
        "recall": round(true_positives / actual, 4) if actual else None,
    }


def _pairs(groups: list[set[int]]) -> set[tuple[int, int]]:
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def demo_truth_metrics(
    *,
    version: DatasetVersion,
    near_groups: list[FoundGroup],
    exact_groups: list[tuple[int, list[str]]],
    embedded: set[int],
) -> dict[str, Any] | None:
    """{"near_pairs" and "near_edges": {precision, recall, ...}, "near_groups": {truth, recovered},
    "exact_groups": {...}},
    or None when the version is not (descended from) the demo dataset."""
    document = demo_truth_document(version)
    if document is None:
        return None
    records = document["samples"]
    by_hash = dict(Sample.objects.filter(dataset_id=version.dataset_id).values_list("sha256", "pk"))
    truth_near = []
    for names in truth_groups(document, "near_duplicate_group").values():
        members = {by_hash[records[name]["sha256"]] for name in names if records[name]["sha256"] in by_hash}
        if len(members & embedded) > 1:
            truth_near.append(members & embedded)
    truth_pairs = _pairs(truth_near)
    found_pairs = _pairs([set(group.ids) for group in near_groups])
    found_edges = {(a, b) for group in near_groups for a, b, _ in group.pairs}
    found_sets = [set(group.ids) for group in near_groups]
    recovered = sum(1 for group in truth_near if any(group <= found for found in found_sets))
    truth_exact = {frozenset(names) for names in truth_groups(document, "exact_duplicate_group").values()}
    found_exact = {frozenset(names) for _, names in exact_groups}
    return {
        "near_pairs": _scores(len(found_pairs & truth_pairs), len(found_pairs), len(truth_pairs)),
        "near_edges": _scores(len(found_edges & truth_pairs), len(found_edges), len(truth_pairs)),
        "near_groups": {"truth": len(truth_near), "recovered": recovered},
        "exact_groups": _scores(len(found_exact & truth_exact), len(found_exact), len(truth_exact)),
    }
