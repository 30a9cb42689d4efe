"""Per-class ranking of features by flip rate over the null-edit control (see flip_test.py for the choices).

Suspected (docs/METHODS.md §9) = two tests, both required for a background feature:
- the flip rule: the Wilson 95% lower bound of the flip rate lies above the class's null flip rate (any
  large edit flips a weak model, so this alone is not specific);
- the direction rule: a background the model has tied to a class pulls predictions to that class. Among
  the flipped swaps of an image of class c onto a background of another class c' (the bank says which
  class each background belongs to), the share predicted c'; per image, then the mean over the images
  with such a flip (n = those images, as for the flip rate). If flips scattered over the K − 1 other
  classes the share would be chance, 1/(K − 1); but a bank cut from the training images themselves
  carries backgrounds the model has partly memorised with their image's label, which lifts the share
  above chance without any class-wide shortcut (measured on a control probe: 0.21-0.44 at K = 6). So the
  rule asks that the background decide the new class in most flips: the Wilson 95% lower bound of the
  share lies above `directed_bar` (1/2, or chance when that is higher).
Object features (a removal has no class to pull towards), backgrounds of a bank that does not know its
backgrounds' classes, and two-class models (every flip goes to the other class) keep the flip rule alone;
their direction fields are None.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from explain.spurious.ml.flip_test import (
    BACKGROUND,
    NULL,
    EditRecord,
    FlipTestImages,
    FlipTestRun,
    FlipTestSettings,
    SwapBank,
    wilson_interval,
)


@dataclass(frozen=True)
class FeatureScore:
    """One feature of one class: how often editing it away flipped a correct prediction."""

    kind: str
    value: str
    support: int
    edits: int
    flip_rate: float
    null_flip_rate: float
    score: float
    ci_low: float
    ci_high: float
    suspected: bool
    rank: int | None
    flips_above_null: bool = False
    directed_share: float | None = None
    directed_ci_low: float | None = None
    directed_chance: float | None = None
    directed_bar: float | None = None
    directed_images: int = 0
    directed_flips: int = 0
    directed_of: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClassRanking:
    class_name: str
    images: int
    misclassified: int
    null_flip_rate: float | None
    ranked: list[FeatureScore]
    low_support: list[FeatureScore]

    def as_dict(self) -> dict[str, Any]:
        return {
            "class_name": self.class_name,
            "images": self.images,
            "misclassified": self.misclassified,
            "null_flip_rate": self.null_flip_rate,
            "ranked": [f.as_dict() for f in self.ranked],
            "low_support": [f.as_dict() for f in self.low_support],
        }


Edits = dict[int, list[EditRecord]]  # image position → its edits of one feature


def _per_image_edits(run: FlipTestRun) -> tuple[dict[int, bool], dict[tuple[str, str], Edits]]:
    """(null flip per image, {(kind, feature): {image: [its edits]}})."""
    null: dict[int, bool] = {}
    features: dict[tuple[str, str], Edits] = defaultdict(lambda: defaultdict(list))
    for record in run.records:
        if record.kind == NULL:
            null[record.position] = record.flipped
        else:
            features[(record.kind, record.feature)][record.position].append(record)
    return null, features


def directed_counts(edits: list[EditRecord], label: int, bank: SwapBank) -> tuple[int, int]:
    """(flipped swaps onto a background of another class that went to that class, flipped swaps onto one)."""
    towards = flipped = 0
    for record in edits:
        owner = bank.class_of(record.bank_index) if record.kind == BACKGROUND else -1
        if record.flipped and owner >= 0 and owner != label:
            flipped += 1
            towards += int(record.prediction == owner)
    return towards, flipped


def _direction(edits: Edits, label: int, bank: SwapBank | None, classes: int, z: float, bar: float) -> dict[str, Any]:
    """The direction rule's numbers of one background feature of class `label` (see the module docstring)."""
    if bank is None or bank.classes is None or classes < 3:
        return {}
    counts = [directed_counts(e, label, bank) for e in edits.values()]
    shares = [towards / flipped for towards, flipped in counts if flipped]
    share = float(np.mean(shares)) if shares else 0.0
    chance = 1 / (classes - 1)
    return {
        "directed_share": share if shares else None, "directed_ci_low": wilson_interval(share, len(shares), z)[0],
        "directed_chance": chance, "directed_bar": max(bar, chance), "directed_images": len(shares),
        "directed_flips": sum(t for t, _ in counts), "directed_of": sum(f for _, f in counts),
    }  # fmt: skip


def _score(
    kind: str, value: str, edits: Edits, null_rate: float, settings: FlipTestSettings, direction: dict[str, Any]
) -> FeatureScore:
    per_image = [float(np.mean([r.flipped for r in e])) for e in edits.values()]
    rate = float(np.mean(per_image))
    low, high = wilson_interval(rate, len(per_image), settings.z)
    flips_above_null = len(per_image) >= settings.min_support and low > null_rate
    directed = not direction or direction["directed_ci_low"] > direction["directed_bar"]
    return FeatureScore(
        kind=kind, value=value, support=len(per_image), edits=sum(len(e) for e in edits.values()), flip_rate=rate,
        null_flip_rate=null_rate, score=rate - null_rate, ci_low=low, ci_high=high,
        suspected=flips_above_null and directed, rank=None, flips_above_null=flips_above_null, **direction,
    )  # fmt: skip


def _ranked(scores: list[FeatureScore], min_support: int) -> tuple[list[FeatureScore], list[FeatureScore]]:
    enough = sorted(
        (s for s in scores if s.support >= min_support), key=lambda s: (-s.score, -s.support, s.kind, s.value)
    )
    low = sorted((s for s in scores if s.support < min_support), key=lambda s: (-s.support, -s.score, s.kind, s.value))
    ranked = [FeatureScore(**{**s.as_dict(), "rank": n}) for n, s in enumerate(enough, start=1)]
    return ranked, low


def class_rankings(
    run: FlipTestRun,
    data: FlipTestImages,
    classes: list[str],
    settings: FlipTestSettings,
    bank: SwapBank | None = None,
) -> dict[str, ClassRanking]:
    """The ranking of every class that has images in `data` (keyed by class name, in `classes` order).

    bank: the swap bank of the run; when it knows its backgrounds' classes, background features must also
    pass the direction rule to be suspected.
    """
    null, features = _per_image_edits(run)
    rankings = {}
    for c, name in enumerate(classes):
        members = set(np.flatnonzero(data.labels == c).tolist())
        if not members:
            continue
        taking_part = [p for p in run.taking_part.tolist() if p in members]
        null_flips = [null[p] for p in taking_part if p in null]
        null_rate = float(np.mean(null_flips)) if null_flips else None
        scores = []
        for (kind, value), edits in sorted(features.items()):
            mine = {p: e for p, e in edits.items() if p in members}
            if mine:
                direction = {}
                if kind == BACKGROUND:
                    direction = _direction(mine, c, bank, len(classes), settings.z, settings.directed_bar)
                scores.append(_score(kind, value, mine, null_rate or 0.0, settings, direction))
        ranked, low = _ranked(scores, settings.min_support)
        misclassified = len(members) - len(taking_part)
        rankings[name] = ClassRanking(name, len(taking_part), misclassified, null_rate, ranked, low)
    return rankings
