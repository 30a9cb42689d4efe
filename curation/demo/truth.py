"""The demo's ground truth: one record per file, plus the config and summary counts.

The document is JSON:
    {"format": "winnow-demo-truth/1", "config": {...}, "objects_source": ..., "background_sources": [...],
     "classes": [...], "class_backgrounds": {class: background id}, "backgrounds": {id: description},
     "summary": {...}, "samples": {file name: record}}
A record holds: file_name, sha256, width, height, split, class (the true primary class), label
(the label given to the file: differs from class exactly when is_noisy), is_noisy, true_labels
(every object's class, primary first), background, own_background, exact_duplicate_group and
near_duplicate_group (int or null; a group's files share the id), near_duplicate_transform,
mask_bbox [x0, y0, x1, y1) of the union mask, objects [{class, stamp, bbox}], caption.
Exact duplicates share a sha256: Winnow stores them as one sample with one alias per file name,
so match records to samples by sha256 and to aliases by file name.
"""

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from curation.demo.composer import RenderedImage
from curation.demo.plan import DemoPlan, PlannedImage
from curation.demo.sources import DemoSources

TRUTH_FORMAT = "winnow-demo-truth/1"
TruthRecord = dict[str, Any]


def demo_caption(image: PlannedImage, sources: DemoSources) -> str:
    """'a photo of a badger on a green meadow background' (every object, primary first)."""
    phrases = [sources.stamps[class_name][stamp].phrase for class_name, stamp in image.objects]
    background = sources.background(image.background_id).description
    article = "an" if background[:1] in "aeiou" else "a"
    return f"a photo of {' and '.join(phrases)} on {article} {background} background"


def mask_bbox(mask: np.ndarray) -> list[int]:
    """[x0, y0, x1, y1) of the mask's true pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def truth_record(image: PlannedImage, rendered: RenderedImage, sha256: str, sources: DemoSources) -> TruthRecord:
    objects = [
        {"class": class_name, "stamp": sources.stamps[class_name][stamp].stamp_id, "bbox": list(box)}
        for (class_name, stamp), box in zip(image.objects, rendered.object_boxes, strict=True)
    ]
    return {
        "file_name": image.file_name,
        "sha256": sha256,
        "width": image.width,
        "height": image.height,
        "split": image.split,
        "class": image.class_name,
        "label": image.label,
        "is_noisy": image.is_noisy,
        "true_labels": image.true_labels,
        "background": image.background_id,
        "own_background": image.own_background,
        "exact_duplicate_group": image.exact_duplicate_group,
        "near_duplicate_group": image.near_duplicate_group,
        "near_duplicate_transform": image.near_transform or None,
        "mask_bbox": mask_bbox(rendered.mask),
        "objects": objects,
        "caption": demo_caption(image, sources),
    }


def truth_summary(records: list[TruthRecord]) -> dict[str, Any]:
    unique = list({r["sha256"]: r for r in records}.values())
    return {
        "files": len(records),
        "distinct_images": len(unique),
        "files_per_split": dict(sorted(Counter(r["split"] for r in records).items())),
        "files_per_class": dict(sorted(Counter(r["class"] for r in records).items())),
        "exact_duplicate_groups": len({r["exact_duplicate_group"] for r in records} - {None}),
        "near_duplicate_groups": len({r["near_duplicate_group"] for r in records} - {None}),
        "noisy_images": sum(1 for r in unique if r["is_noisy"]),
        "multi_object_images": sum(1 for r in unique if len(r["true_labels"]) > 1),
    }


def truth_document(plan: DemoPlan, sources: DemoSources, records: list[TruthRecord]) -> dict[str, Any]:
    """The whole ground truth for `plan`, with records sorted by file name."""
    ordered = sorted(records, key=lambda r: r["file_name"])
    return {
        "format": TRUTH_FORMAT,
        "config": plan.config.as_dict(),
        "objects_source": sources.object_source,
        "background_sources": sources.background_sources,
        "classes": plan.classes,
        "class_backgrounds": plan.class_backgrounds,
        "backgrounds": {b.background_id: b.description for b in sources.backgrounds},
        "summary": truth_summary(ordered),
        "samples": {r["file_name"]: r for r in ordered},
    }


def truth_dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False).encode()


def truth_loads(data: bytes | str | Path) -> dict[str, Any]:
    """A truth document from its JSON bytes/text, or from a file path."""
    if isinstance(data, Path):
        data = data.read_bytes()
    document = json.loads(data)
    if document.get("format") != TRUTH_FORMAT:
        raise ValueError(f"not a Winnow demo truth document (format {document.get('format')!r})")
    return document


def truth_by_sha256(document: dict[str, Any]) -> dict[str, list[TruthRecord]]:
    """Records per content hash: several for an exact-duplicate group, one otherwise."""
    by_hash: dict[str, list[TruthRecord]] = defaultdict(list)
    for record in document["samples"].values():
        by_hash[record["sha256"]].append(record)
    return dict(by_hash)


def truth_groups(document: dict[str, Any], kind: str) -> dict[int, list[str]]:
    """File names per group id, for kind "exact_duplicate_group" or "near_duplicate_group"."""
    groups: dict[int, list[str]] = defaultdict(list)
    for name, record in document["samples"].items():
        if record[kind] is not None:
            groups[record[kind]].append(name)
    return dict(groups)
