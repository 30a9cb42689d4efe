"""What the flip test edits on a version: each image's background feature, its removable objects, the swap bank.

Choices made:
- Only samples with a usable mask from the report's mask source (the dataset's own, or masks a provider
  estimated and stored) take part; the others are left out, each with its reason.
- Background feature: on a demo version the truth's background id (its description from the truth);
  otherwise the caption's "... on a <X> background" when present; else one generic "background"
  feature per class (its swaps then only exclude the image's own background).
- Swap bank: the demo's background bank for demo versions; otherwise the taking-part images with
  their objects inpainted away, each carrying its own background value, so a swap never brings back
  the image's own background (or, with captions, any background of the same name).
- The class of each bank background (the direction rule of ranking.py): on the demo the class that owns
  it in the truth (`class_backgrounds`; none for the others); otherwise the label of the image it was
  cut from.
- Secondary objects: only the demo truth locates them (a box per object, in file pixels). The
  object's region is the stored union mask inside its box, scaled like the image, minus the primary
  object's box (the masks are a union, so overlapping pixels cannot be told apart); a region that
  ends up smaller than 4 px is not removable and is counted. Other versions have no per-object
  locations: object features are left out, and the report says so.
- Group labels (class × background attribute): the demo's "class / own|other background" from the
  evaluation set; with captions "class / <X> background"; none for the generic feature.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.storage import blob_read
from curation.demo.truth import truth_by_sha256, truth_loads
from curation.models import DatasetVersion
from explain.spurious.ml.flip_test import FlipTestImages, ObjectRegion, SwapBank
from robustness.evaluation.services.dataset import EvaluationSet, demo_truth_key
from robustness.evaluation.services.masks import DATASET_SOURCE, MaskSource
from robustness.ml.attribute_edits import MIN_OBJECT_PIXELS, fit_background, mask_is_usable, remove_object

GENERIC_BACKGROUND = "background"
SOURCE_DEMO = "demo ground truth (background ids, object boxes)"
SOURCE_CAPTIONS = "captions ('... on a <X> background')"
SOURCE_GENERIC = "none: one generic background feature (no demo truth, no background in the captions)"
BANK_DEMO = "demo background bank"
BANK_VERSION = "the version's own images, objects inpainted away"
NO_OBJECT_BOXES = "this version records no per-object locations: object features are left out"
CAPTION_BACKGROUND = re.compile(r"\bon (?:an? |the )?([\w' -]+?) background\b", re.IGNORECASE)


@dataclass
class FeatureSetup:
    data: FlipTestImages
    bank: SwapBank
    positions: np.ndarray
    source: str
    bank_source: str
    descriptions: dict[str, str]
    groups: list[str | None] | None
    left_out: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)
    class_backgrounds: dict[str, str] | None = None

    @property
    def pull_possible(self) -> bool:
        return self.source != SOURCE_GENERIC and len(set(self.bank.values)) > 1


def caption_background(caption: str) -> str | None:
    """'a photo of a fox on a snowy field background' → 'snowy field'."""
    match = CAPTION_BACKGROUND.search(caption or "")
    return match.group(1).strip().lower() if match else None


def box_at_input_size(box: list[int], width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """A box in file pixels → input pixels, following the shorter-side resize and centre crop of Preprocessing."""
    scale = size / min(width, height)
    resized = (max(size, round(width * scale)), max(size, round(height * scale)))
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    sx, sy = resized[0] / width, resized[1] / height
    x0, y0 = math.floor(box[0] * sx) - left, math.floor(box[1] * sy) - top
    x1, y1 = math.ceil(box[2] * sx) - left, math.ceil(box[3] * sy) - top
    return max(0, x0), max(0, y0), min(size, x1), min(size, y1)


def _secondary_regions(record: dict[str, Any], mask: np.ndarray) -> tuple[list[ObjectRegion], int]:
    """(removable secondary objects, how many could not be separated from the primary)."""
    size = mask.shape[0]
    boxes = [box_at_input_size(o["bbox"], record["width"], record["height"], size) for o in record["objects"]]
    regions, unlocated = [], 0
    for obj, (x0, y0, x1, y1) in zip(record["objects"][1:], boxes[1:], strict=True):
        region = np.zeros_like(mask)
        region[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
        px0, py0, px1, py1 = boxes[0]
        region[py0:py1, px0:px1] = False
        if int(region.sum()) < MIN_OBJECT_PIXELS:
            unlocated += 1
        else:
            regions.append(ObjectRegion(obj["class"], region))
    return regions, unlocated


def _masked(
    evaluation_set: EvaluationSet, source: MaskSource
) -> tuple[list[int], list[np.ndarray], list[dict[str, Any]]]:
    size = evaluation_set.images.shape[1]
    positions, masks, left_out = [], [], []
    for i, sample in enumerate(evaluation_set.samples):
        mask = source.mask(sample, size)
        if mask is None:
            left_out.append({"sample_id": sample.pk, "reason": "no mask"})
        elif not mask_is_usable(mask):
            left_out.append({"sample_id": sample.pk, "reason": f"the mask marks no usable object at {size} px"})
        else:
            positions.append(i)
            masks.append(mask)
    return positions, masks, left_out


def demo_truth_document(version: DatasetVersion) -> dict[str, Any] | None:
    key = demo_truth_key(version)
    if key is None:
        return None
    try:
        return truth_loads(blob_read(key))
    except FileNotFoundError:
        return None


def feature_setup(
    evaluation_set: EvaluationSet, version: DatasetVersion, source: MaskSource | None = None
) -> FeatureSetup:
    """The flip test's input for the samples of `evaluation_set` with a mask from `source` (default: the
    dataset's own masks); empty when none has one."""
    positions, masks, left_out = _masked(evaluation_set, source or DATASET_SOURCE)
    document = demo_truth_document(version)
    if document is not None:
        setup = _demo_setup(evaluation_set, positions, masks, document)
    else:
        setup = _caption_setup(evaluation_set, positions, masks)
    setup.left_out = left_out
    return setup


def _flip_images(
    evaluation_set: EvaluationSet,
    positions: list[int],
    masks: list[np.ndarray],
    features: list[str],
    values: list[str],
    objects: list[list[ObjectRegion]],
) -> FlipTestImages:
    index = np.array(positions, dtype=np.int64)
    size = evaluation_set.images.shape[1]
    return FlipTestImages(
        images=evaluation_set.images[index] if len(index) else np.zeros((0, size, size, 3), np.uint8),
        masks=masks,
        labels=evaluation_set.targets[index],
        image_ids=evaluation_set.sample_ids[index],
        background_features=features,
        background_values=values,
        objects=objects,
    )


def _demo_setup(
    evaluation_set: EvaluationSet, positions: list[int], masks: list[np.ndarray], document: dict[str, Any]
) -> FeatureSetup:
    from robustness.evaluation.services.backgrounds import demo_background_bank  # noqa: PLC0415 - torch: the job only

    records = {sha: found[0] for sha, found in truth_by_sha256(document).items()}
    features, objects, located, unlocated = [], [], 0, 0
    for p, mask in zip(positions, masks, strict=True):
        record = records.get(evaluation_set.samples[p].sha256)
        features.append(record["background"] if record else f"sample:{evaluation_set.samples[p].pk}")
        regions, missed = _secondary_regions(record, mask) if record else ([], 0)
        objects.append(regions)
        located, unlocated = located + len(regions), unlocated + missed
    values = list(features)
    features = [f if not f.startswith("sample:") else GENERIC_BACKGROUND for f in features]
    size = evaluation_set.images.shape[1]
    bank = demo_background_bank()
    owners = {
        background: evaluation_set.classes.index(name)
        for name, background in document.get("class_backgrounds", {}).items()
        if name in evaluation_set.classes
    }
    swap_bank = SwapBank(
        values=bank.ids,
        images=[fit_background(image, size, size) for image in bank.images],
        classes=[owners.get(background, -1) for background in bank.ids],
    )
    return FeatureSetup(
        data=_flip_images(evaluation_set, positions, masks, features, values, objects),
        bank=swap_bank,
        positions=np.array(positions, dtype=np.int64),
        source=SOURCE_DEMO,
        bank_source=BANK_DEMO,
        descriptions=dict(document.get("backgrounds", {})),
        groups=evaluation_set.groups,
        objects={"available": True, "removable": located, "not_separable": unlocated, "note": ""},
        class_backgrounds=dict(document.get("class_backgrounds", {})),
    )


def _caption_setup(evaluation_set: EvaluationSet, positions: list[int], masks: list[np.ndarray]) -> FeatureSetup:
    attributes = [caption_background(sample.caption) for sample in evaluation_set.samples]
    features = [attributes[p] or GENERIC_BACKGROUND for p in positions]
    values = [attributes[p] or f"sample:{evaluation_set.samples[p].pk}" for p in positions]
    data = _flip_images(evaluation_set, positions, masks, features, values, [[] for _ in positions])
    emptied = [remove_object(image, mask) for image, mask in zip(data.images, masks, strict=True)]
    with_captions = any(a is not None for a in attributes)
    groups = None
    if with_captions:
        groups = [
            f"{evaluation_set.classes[t]} / {a} background" if a else None
            for t, a in zip(evaluation_set.targets.tolist(), attributes, strict=True)
        ]
    return FeatureSetup(
        data=data,
        bank=SwapBank(values=values, images=emptied, classes=[int(label) for label in data.labels]),
        positions=np.array(positions, dtype=np.int64),
        source=SOURCE_CAPTIONS if with_captions else SOURCE_GENERIC,
        bank_source=BANK_VERSION,
        descriptions={a: a for a in attributes if a},
        groups=groups,
        objects={"available": False, "removable": 0, "not_separable": 0, "note": NO_OBJECT_BOXES},
    )
