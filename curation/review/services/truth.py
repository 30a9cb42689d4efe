"""How good label proposals are on the demo dataset, from its recorded truth (docs/ARCHITECTURE.md §6).

The demo injects label noise (the given label differs from the true class) and multi-object images
(a second object of another class). A sample's *missing labels* are its true labels that its current
label set lacks: the true class of a noisy image, the second object's class of a multi-object image.
A proposal (sample, label) is right when `label` is one of the sample's missing labels.

precision: right proposals / proposals; recall: missing labels proposed / missing labels in the
version, overall and separately for noisy images and for multi-object images.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from curation.demo.truth import truth_by_sha256
from curation.models import DatasetVersion, VersionSample
from curation.pruning.services.demo_truth import demo_truth_for_version


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def version_missing_labels(version: DatasetVersion, truth: dict[str, Any]) -> dict[int, dict[str, str]]:
    """{sample id: {missing label: "noise" | "multi_object"}} of the version's members."""
    by_hash = truth_by_sha256(truth)
    missing: dict[int, dict[str, str]] = {}
    members = VersionSample.objects.filter(version=version).values_list("sample_id", "sample__sha256", "labels")
    for sample_id, sha256, labels in members.iterator(chunk_size=5000):
        records = by_hash.get(sha256)
        if not records:
            continue
        record = records[0]
        have = {entry["label"] for entry in labels}
        wanted = {label: ("noise" if i == 0 else "multi_object") for i, label in enumerate(record["true_labels"])}
        gaps = {label: kind for label, kind in wanted.items() if label not in have}
        if gaps:
            missing[sample_id] = gaps
    return missing


def proposal_truth_scores(version: DatasetVersion, proposals: Iterable[tuple[int, str]]) -> dict[str, Any] | None:
    """Precision and recall of (sample id, label) proposals against the demo's truth; None off the demo."""
    truth = demo_truth_for_version(version)
    if truth is None:
        return None
    missing = version_missing_labels(version, truth)
    proposed = set(proposals)
    right = {(s, label) for s, label in proposed if label in missing.get(s, {})}
    scores: dict[str, Any] = {
        "proposals": len(proposed),
        "right": len(right),
        "precision": _ratio(len(right), len(proposed)),
    }
    for kind in ("noise", "multi_object"):
        gaps = {(s, label) for s, labels in missing.items() for label, k in labels.items() if k == kind}
        scores[f"{kind}_missing"] = len(gaps)
        scores[f"{kind}_found"] = len(gaps & right)
        scores[f"{kind}_recall"] = _ratio(len(gaps & right), len(gaps))
    all_gaps = sum(len(labels) for labels in missing.values())
    scores["recall"] = _ratio(len(right), all_gaps)
    scores["missing"] = all_gaps
    return scores
