"""The attribute-edit suite: accuracy on originals vs on each masked edit, and the drop (docs/METHODS.md §7).

Only samples with a usable mask from the run's mask source (the dataset's own, or stored estimated
masks: services/masks.py, named in the results with their quality) take part; the others are counted
and left out. Each
image gets its own generator seeded by (run seed, sample id, edit), so edits are reproducible.
Backgrounds for the swap come from the demo's background bank when the version is the demo's
(never the image's own background), else from the other evaluated images with their objects
inpainted away (preferring an image of another class).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustness.evaluation.services.dataset import EvaluationSet
from robustness.evaluation.services.inference import ExampleWriter
from robustness.evaluation.services.masks import DATASET_SOURCE, MaskSource
from robustness.ml.attribute_edits import create_edit, fit_background, mask_is_usable, remove_object

EXAMPLE_COUNT = 2
BACKGROUND_DEMO_BANK = "demo background bank"
BACKGROUND_VERSION_IMAGES = "other images of the version, objects inpainted away"


@dataclass(frozen=True)
class BackgroundBank:
    """Background photos by id (the demo's bank)."""

    ids: list[str]
    images: list[np.ndarray]


@dataclass
class MaskedSubset:
    indices: np.ndarray
    masks: list[np.ndarray]
    without_mask: int
    unusable_mask: int


def masked_subset(evaluation_set: EvaluationSet, source: MaskSource = DATASET_SOURCE) -> MaskedSubset:
    """The samples with a usable mask (at the model's input size), and how many were left out and why."""
    size = evaluation_set.images.shape[1]
    indices, masks, without, unusable = [], [], 0, 0
    for i, sample in enumerate(evaluation_set.samples):
        mask = source.mask(sample, size)
        if mask is None:
            without += 1
        elif not mask_is_usable(mask):
            unusable += 1
        else:
            indices.append(i)
            masks.append(mask)
    return MaskedSubset(np.array(indices, dtype=np.int64), masks, without, unusable)


def _backgrounds(
    evaluation_set: EvaluationSet, subset: MaskedSubset, bank: BackgroundBank | None, seed: int
) -> list[np.ndarray]:
    """One background per masked sample, chosen reproducibly."""
    rng = np.random.default_rng([seed, 1])
    size = evaluation_set.images.shape[1]
    chosen = []
    if bank is not None and len(bank.ids) > 1:
        own = evaluation_set.backgrounds or [None] * len(evaluation_set)
        fitted = [fit_background(image, size, size) for image in bank.images]
        for i in subset.indices:
            candidates = [b for b, bid in enumerate(bank.ids) if bid != own[i]]
            chosen.append(fitted[int(rng.choice(candidates))])
        return chosen
    emptied = [remove_object(evaluation_set.images[i], m) for i, m in zip(subset.indices, subset.masks, strict=True)]
    targets = evaluation_set.targets[subset.indices]
    for position in range(len(subset.indices)):
        others = np.flatnonzero(targets != targets[position])
        if len(others) == 0:
            others = np.array([p for p in range(len(subset.indices)) if p != position] or [position])
        chosen.append(emptied[int(rng.choice(others))])
    return chosen


def _by_background(
    evaluation_set: EvaluationSet, subset: MaskedSubset, original_correct: np.ndarray, correct: np.ndarray
) -> dict[str, dict[str, float | int | None]] | None:
    """With demo groups: the edit's effect on samples shown on their class's own background and on the others."""
    if evaluation_set.own_background is None:
        return None
    flags = [evaluation_set.own_background[i] for i in subset.indices]
    table: dict[str, dict[str, float | int | None]] = {}
    for name, wanted in (("own", True), ("other", False)):
        members = np.array([flag is wanted for flag in flags], dtype=bool)  # unknown (None) is in neither
        count = int(members.sum())
        before = float(original_correct[members].mean()) if count else None
        after = float(correct[members].mean()) if count else None
        drop = before - after if before is not None and after is not None else None
        table[name] = {"count": count, "original_accuracy": before, "accuracy": after, "drop": drop}
    return table


def attribute_results(
    evaluation_set: EvaluationSet,
    *,
    edits: list[dict[str, Any]],
    predict: Callable[[np.ndarray], np.ndarray],
    original_predictions: np.ndarray,
    bank: BackgroundBank | None,
    seed: int,
    examples: ExampleWriter,
    step: Callable[[str], None],
    masks: MaskSource = DATASET_SOURCE,
) -> dict[str, Any]:
    """Accuracy per edit on the masked samples, its drop from the originals, and example edits.

    Args:
        edits: [{"name": ..., **params}] in report order (the null control among them).
        predict: uint8 images → probabilities.
        original_predictions: top-1 per sample of the whole evaluation set (clean).
        bank: the demo's backgrounds, or None to use the version's own images.
        masks: where the object masks come from (named in the result, with `estimated`).
    """
    subset = masked_subset(evaluation_set, masks)
    result: dict[str, Any] = {
        "masks": masks.describe(),
        "with_masks": len(subset.indices),
        "without_masks": subset.without_mask,
        "unusable_masks": subset.unusable_mask,
        "edits": {},
    }
    if len(subset.indices) == 0:
        result["original_accuracy"] = None
        return result
    images = evaluation_set.images[subset.indices]
    targets = evaluation_set.targets[subset.indices]
    sample_ids = evaluation_set.sample_ids[subset.indices]
    original_correct = original_predictions[subset.indices] == targets
    needs_background = any(create_edit(**spec).needs_background for spec in edits)
    backgrounds = _backgrounds(evaluation_set, subset, bank, seed) if needs_background else None
    result |= {
        "original_accuracy": float(original_correct.mean()),
        "background_source": (BACKGROUND_DEMO_BANK if bank is not None else BACKGROUND_VERSION_IMAGES)
        if needs_background
        else None,
        "example_sample_ids": sample_ids[:EXAMPLE_COUNT].tolist(),
    }
    for n in range(min(EXAMPLE_COUNT, len(images))):
        examples.save(f"attributes/original/{n}", images[n])
    for number, spec in enumerate(edits):
        edit = create_edit(**spec)
        edited = np.stack(
            [
                edit(
                    images[p],
                    subset.masks[p],
                    rng=np.random.default_rng([seed, int(sample_ids[p]), number]),
                    background=backgrounds[p] if backgrounds is not None else None,
                )
                for p in range(len(images))
            ]
        )
        predictions = predict(edited).argmax(axis=1)
        correct = predictions == targets
        result["edits"][spec["name"]] = {
            **edit.describe(),
            "accuracy": float(correct.mean()),
            "drop": float(original_correct.mean() - correct.mean()),
            "broken": float((original_correct & ~correct).mean()),
            "prediction_changed": float((predictions != original_predictions[subset.indices]).mean()),
            "by_background": _by_background(evaluation_set, subset, original_correct, correct),
        }
        for n in range(min(EXAMPLE_COUNT, len(images))):
            examples.save(f"attributes/{spec['name']}/{n}", edited[n])
        step(f"{spec['name']}: accuracy {correct.mean():.3f} (drop {result['edits'][spec['name']]['drop']:+.3f})")
    return result
