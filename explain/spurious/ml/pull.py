"""Background pull: the reverse flip test, kept as its own measure (see flip_test.py for the choices).

For each background value b of the bank, the objects of a seeded subset of images (not already on
b) are pasted onto b; pull(b → c) = the share of the images NOT labelled c that the model then calls
c, minus that share after the null edit of the same images (the control). A background the model
has tied to class c pulls other classes' objects to c.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from explain.spurious.ml.flip_test import (
    BACKGROUND,
    Classify,
    EditRecord,
    FlipTestImages,
    Progress,
    SwapBank,
    edit_render,
)
from robustness.ml.attribute_edits import NullEdit


@dataclass(frozen=True)
class PullSettings:
    max_images: int = 200
    seed: int = 0
    batch_images: int = 64


def pull_positions(data: FlipTestImages, settings: PullSettings) -> np.ndarray:
    """A seeded subset of at most `max_images` positions (in order)."""
    if len(data) <= settings.max_images:
        return np.arange(len(data))
    return np.sort(np.random.default_rng([settings.seed, 3]).choice(len(data), settings.max_images, replace=False))


def _classify_batched(classify: Classify, images: list[np.ndarray], batch: int) -> np.ndarray:
    parts = [classify(np.stack(images[s : s + batch])) for s in range(0, len(images), batch)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _shares(predictions: np.ndarray, labels: np.ndarray, keep: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Per class c: the share of kept images not labelled c predicted c, and how many there were."""
    result = {}
    for c, name in enumerate(classes):
        others = keep & (labels != c)
        count = int(others.sum())
        result[name] = {"rate": float((predictions[others] == c).mean()) if count else None, "support": count}
    return result


def _pull_row(
    data: FlipTestImages, bank: SwapBank, classify: Classify, positions: np.ndarray, value: str, settings: PullSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(predictions on `value`, which positions took part: those not already on it)."""
    entries = [i for i, v in enumerate(bank.values) if v == value]
    keep = np.array([data.background_values[p] != value for p in positions], dtype=bool)
    edited = []
    for p in positions[keep]:
        rng = np.random.default_rng([settings.seed, int(data.image_ids[p]), 2])
        record = EditRecord(int(p), BACKGROUND, value, bank_index=int(rng.choice(entries)))
        edited.append(edit_render(data, bank, record))
    predictions = np.full(len(positions), -1, dtype=np.int64)
    predictions[keep] = _classify_batched(classify, edited, settings.batch_images)
    return predictions, keep


def background_pull(
    data: FlipTestImages,
    bank: SwapBank,
    classify: Classify,
    *,
    classes: list[str],
    settings: PullSettings,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Pull of every distinct bank value towards every class, with the null-edit control, and per-class rankings.

    Returns {"images", "control": {class: {rate, support}}, "rows": {value: {class: {rate, pull, support}}},
    "ranking": {class: [{value, pull, rate, support, rank}]}} (pull = rate − control rate).
    """
    positions = pull_positions(data, settings)
    labels = data.labels[positions]
    values = list(dict.fromkeys(bank.values))
    null = [NullEdit()(data.images[p], data.masks[p], rng=np.random.default_rng(0)) for p in positions]
    control = _shares(
        _classify_batched(classify, null, settings.batch_images), labels, np.ones(len(positions), bool), classes
    )
    rows: dict[str, dict[str, Any]] = {}
    for done, value in enumerate(values, start=1):
        predictions, keep = _pull_row(data, bank, classify, positions, value, settings)
        shares = _shares(predictions, labels, keep, classes)
        rows[value] = {
            name: {**share, "pull": None if share["rate"] is None else share["rate"] - (control[name]["rate"] or 0.0)}
            for name, share in shares.items()
        }
        if progress is not None:
            progress(done, len(values))
    return {"images": len(positions), "control": control, "rows": rows, "ranking": _pull_ranking(rows, classes)}


def _pull_ranking(rows: dict[str, dict[str, Any]], classes: list[str]) -> dict[str, list[dict[str, Any]]]:
    ranking = {}
    for name in classes:
        entries = [{"value": v, **row[name]} for v, row in rows.items() if row[name]["pull"] is not None]
        entries.sort(key=lambda e: (-e["pull"], e["value"]))
        ranking[name] = [{**e, "rank": n} for n, e in enumerate(entries, start=1)]
    return ranking
