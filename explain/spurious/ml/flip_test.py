"""Counterfactual flip test for spurious features (ASPIRE, Ghosh et al. 2024; docs/METHODS.md §9), CPU version.

ASPIRE edits one feature of an image away and calls the feature spurious for the class when the
classifier's prediction flips. Choices made here:
- The class of an image is its label, and only images the model classifies correctly take part
  (as in ASPIRE, which probes correctly classified training images): a flip then means "without
  this feature the model no longer sees class c". A misclassified image says nothing about what the
  model relies on for its label (it already predicts another class); those are counted and left out.
- Features of an image: its background (a named value: the demo's background id, a caption's
  "<X> background", or one generic "background") and the secondary objects the caller can locate
  (a region mask each, named by the object's class).
- Edits reuse robustness.ml.attribute_edits: background swap = the objects (union mask) pasted
  unchanged onto `swaps_per_image` distinct bank backgrounds whose identity differs from the
  image's own; object removal = Telea inpainting of the object's region (`remove_object`); the
  null edit = `NullEdit` (objects pasted back over the inpainted background), the control of the
  pipeline. There is one null edit per image, the control for both feature kinds.
- A flip: the top-1 after the edit differs from the original top-1. Flip rate of a feature for
  class c = the mean, over c's images that carry the feature, of the share of their edits that
  flipped; support = that image count. Null flip rate of c = the same for the null edit over all
  of c's taking-part images.
- Score = flip rate − null flip rate. Per class, features with support ≥ min_support are ranked by
  score, then support, then name; the rest are listed apart ("low support"), unranked. The Wilson
  95% interval of the flip rate uses the image count as n (the swaps of one image are not
  independent trials). A ranked feature is *suspected* when the interval's lower bound lies above
  the class's null flip rate and, for a background, when the swaps' flips go to the class of the
  swapped-in background in most cases (the direction rule, ranking.py).
- Background pull, a separate measure (the reverse test): objects of other classes are pasted onto
  background b; pull(b → c) = the share then predicted c, minus the share predicted c after the
  null edit of the same images (control). Images already on b are left out of b's row.
- Reproducible: the bank backgrounds of a swap are drawn by a generator seeded by (seed, image id).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from robustness.ml.attribute_edits import BackgroundSwap, NullEdit, remove_object

BACKGROUND, OBJECT, NULL = "background", "object", "null"
Classify = Callable[[np.ndarray], np.ndarray]  # uint8 N×S×S×3 → top-1 class index per image
Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class ObjectRegion:
    """A secondary object that can be removed: its class name (the feature's value) and its pixels."""

    class_name: str
    mask: np.ndarray


@dataclass(frozen=True, eq=False)
class FlipTestImages:
    """The images under test (all with usable masks), at the model's input size.

    background_features name the background feature (ranked); background_values identify the actual
    background (a swap never picks a bank entry of the same value; equal to the feature except for
    the generic "background").
    """

    images: np.ndarray
    masks: list[np.ndarray]
    labels: np.ndarray
    image_ids: np.ndarray
    background_features: list[str]
    background_values: list[str]
    objects: list[list[ObjectRegion]]

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True, eq=False)
class SwapBank:
    """Backgrounds to swap in, already fitted to the input size, each with its identity.

    classes: per background, the index of the class it belongs to (the class that owns it, or the class of the
    image it was cut from), -1 for none; None when unknown (the direction of flips is then not tested).
    """

    values: list[str]
    images: list[np.ndarray]
    classes: list[int] | None = None

    def class_of(self, index: int) -> int:
        return -1 if self.classes is None else int(self.classes[index])


@dataclass(frozen=True)
class FlipTestSettings:
    swaps_per_image: int = 3
    min_support: int = 5
    seed: int = 0
    batch_images: int = 32
    z: float = 1.96
    directed_bar: float = 0.5  # the direction rule's bar for the share of flips toward the background's class


@dataclass(frozen=True)
class EditRecord:
    """One edited image: which image, which feature was edited away, how, and what the model said."""

    position: int
    kind: str
    feature: str
    bank_index: int = -1
    object_index: int = -1
    prediction: int = -1
    flipped: bool = False


@dataclass
class FlipTestRun:
    original_predictions: np.ndarray
    taking_part: np.ndarray
    records: list[EditRecord] = field(default_factory=list)


def swap_choices(data: FlipTestImages, bank: SwapBank, position: int, settings: FlipTestSettings) -> list[int]:
    """Up to `swaps_per_image` distinct bank indices whose value differs from the image's own, seeded per image."""
    own = data.background_values[position]
    candidates = [i for i, value in enumerate(bank.values) if value != own]
    if not candidates:
        return []
    rng = np.random.default_rng([settings.seed, int(data.image_ids[position]), 1])
    count = min(settings.swaps_per_image, len(candidates))
    return sorted(int(i) for i in rng.choice(candidates, size=count, replace=False))


def edit_render(data: FlipTestImages, bank: SwapBank, record: EditRecord) -> np.ndarray:
    """The edited image of `record` (deterministic: examples are rendered again from their record)."""
    image, mask = data.images[record.position], data.masks[record.position]
    rng = np.random.default_rng(0)  # neither the null edit nor the swap draws from it
    if record.kind == NULL:
        return NullEdit()(image, mask, rng=rng)
    if record.kind == BACKGROUND:
        return BackgroundSwap()(image, mask, rng=rng, background=bank.images[record.bank_index])
    return remove_object(image, data.objects[record.position][record.object_index].mask)


def planned_edits(data: FlipTestImages, bank: SwapBank, position: int, settings: FlipTestSettings) -> list[EditRecord]:
    """The null edit, the background swaps and the object removals of one image (predictions not yet known)."""
    edits = [EditRecord(position, NULL, "")]
    feature = data.background_features[position]
    edits += [
        EditRecord(position, BACKGROUND, feature, bank_index=b) for b in swap_choices(data, bank, position, settings)
    ]
    for index, region in enumerate(data.objects[position]):
        edits.append(EditRecord(position, OBJECT, region.class_name, object_index=index))
    return edits


def flip_test_run(
    data: FlipTestImages,
    bank: SwapBank,
    classify: Classify,
    *,
    original_predictions: np.ndarray,
    settings: FlipTestSettings,
    progress: Progress | None = None,
) -> FlipTestRun:
    """Edit every correctly classified image (null, swaps, object removals) in batches and record the flips.

    Args:
        original_predictions: top-1 per image of `data` before any edit.
        progress: called as progress(images done, images taking part) after each batch (cancel checks).
    """
    taking_part = np.flatnonzero(original_predictions == data.labels)
    run = FlipTestRun(original_predictions=original_predictions, taking_part=taking_part)
    for start in range(0, len(taking_part), settings.batch_images):
        planned = [
            e
            for p in taking_part[start : start + settings.batch_images]
            for e in planned_edits(data, bank, int(p), settings)
        ]
        if planned:
            predictions = classify(np.stack([edit_render(data, bank, e) for e in planned]))
            for edit, prediction in zip(planned, predictions.tolist(), strict=True):
                flipped = prediction != int(original_predictions[edit.position])
                run.records.append(_with_prediction(edit, int(prediction), flipped))
        if progress is not None:
            progress(min(start + settings.batch_images, len(taking_part)), len(taking_part))
    return run


def _with_prediction(edit: EditRecord, prediction: int, flipped: bool) -> EditRecord:
    return EditRecord(edit.position, edit.kind, edit.feature, edit.bank_index, edit.object_index, prediction, flipped)


def wilson_interval(rate: float, count: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion `rate` observed over `count` trials ((0, 1) when count is 0)."""
    if count == 0:
        return 0.0, 1.0
    denominator = 1 + z * z / count
    centre = (rate + z * z / (2 * count)) / denominator
    half = z * np.sqrt(rate * (1 - rate) / count + z * z / (4 * count * count)) / denominator
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
