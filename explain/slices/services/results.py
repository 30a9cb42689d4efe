"""The stored form of a discovery (report.results) and the headline a command prints."""

from dataclasses import asdict
from typing import Any

import numpy as np

from explain.slices.ml.discovery import Slice, SliceDiscovery
from explain.slices.services.inference import ModelOutputs


def _slice_entry(number: int, found: Slice, classes: list[str], sample_ids: np.ndarray, predictions: np.ndarray,
                 gallery_size: int) -> dict[str, Any]:  # fmt: skip
    ids = sample_ids[found.members]
    predicted_as = sorted(found.predictions.items(), key=lambda item: (-item[1], item[0]))
    return {
        "number": number, "class": classes[found.class_index], "size": found.size,
        "correct": round(found.accuracy * found.size), "accuracy": found.accuracy,
        "ci_low": found.ci_low, "ci_high": found.ci_high, "class_accuracy": found.class_accuracy, "gap": found.gap,
        "conservative_gap": found.conservative_gap, "significant": found.significant, "mean_loss": found.mean_loss,
        "mean_context": found.mean_context,
        "predicted_as": [{"class": classes[c], "count": n, "share": n / found.size} for c, n in predicted_as],
        "sample_ids": [int(i) for i in ids],
        "gallery": [
            {"sample_id": int(sample_ids[m]), "predicted": classes[int(predictions[m])]}
            for m in found.members[:gallery_size]
        ],
    }  # fmt: skip


def discovery_results(
    discovery: SliceDiscovery, outputs: ModelOutputs, positions: np.ndarray, source: dict[str, Any]
) -> dict[str, Any]:
    """report.results: what was searched, each class's accuracy and the ranked slices (`positions` index the set)."""
    evaluation_set = outputs.evaluation_set
    classes = evaluation_set.classes
    sample_ids, predictions = evaluation_set.sample_ids[positions], outputs.predictions[positions]
    gallery = discovery.settings.gallery_size
    slices = [
        _slice_entry(n, found, classes, sample_ids, predictions, gallery)
        for n, found in enumerate(discovery.slices, start=1)
    ]
    worst = {classes[c]: next(s["number"] for s in slices if s["class"] == classes[c])
             for c in discovery.worst_per_class()}  # fmt: skip
    return {
        "classes": classes,
        "samples": len(evaluation_set),
        "unlabeled_skipped": evaluation_set.unlabeled_skipped,
        "synthetic_excluded": evaluation_set.synthetic_excluded,
        "accuracy": float((outputs.predictions == evaluation_set.targets).mean()) if len(evaluation_set) else None,
        "embeddings": source,
        "class_accuracy": {
            classes[c]: {"accuracy": acc, "count": discovery.class_counts[c]}
            for c, acc in discovery.class_accuracy.items()
        },
        "settings": asdict(discovery.settings),
        "too_small": discovery.too_small,
        "slices": slices,
        "worst_per_class": worst,
    }


def report_headline(results: dict[str, Any]) -> dict[str, Any]:
    """The numbers a command prints: counts, accuracy and each class's worst slice."""
    slices = {s["number"]: s for s in results.get("slices") or []}
    worst = {}
    for name, number in (results.get("worst_per_class") or {}).items():
        s = slices[number]
        top = s["predicted_as"][0] if s["predicted_as"] else None
        worst[name] = {
            "slice": number, "size": s["size"], "accuracy": s["accuracy"], "class_accuracy": s["class_accuracy"],
            "ci_high": s["ci_high"], "significant": s["significant"], "mostly_predicted_as": top and top["class"],
        }  # fmt: skip
    return {
        "samples": results.get("samples"), "accuracy": results.get("accuracy"),
        "embeddings": (results.get("embeddings") or {}).get("description"), "slices": len(slices),
        "significant": sum(1 for s in slices.values() if s["significant"]), "worst_per_class": worst,
    }  # fmt: skip
