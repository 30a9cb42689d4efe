"""Per-class ranking of features by flip rate over the null-edit control (see flip_test.py for the choices)."""

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from explain.spurious.ml.flip_test import NULL, FlipTestImages, FlipTestRun, FlipTestSettings, wilson_interval


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


def _per_image_flips(run: FlipTestRun) -> tuple[dict[int, bool], dict[tuple[str, str], dict[int, list[bool]]]]:
    """(null flip per image, {(kind, feature): {image: [flip per edit]}})."""
    null: dict[int, bool] = {}
    features: dict[tuple[str, str], dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for record in run.records:
        if record.kind == NULL:
            null[record.position] = record.flipped
        else:
            features[(record.kind, record.feature)][record.position].append(record.flipped)
    return null, features


def _score(
    kind: str, value: str, flips: dict[int, list[bool]], null_rate: float, settings: FlipTestSettings
) -> FeatureScore:
    per_image = [float(np.mean(f)) for f in flips.values()]
    rate = float(np.mean(per_image))
    low, high = wilson_interval(rate, len(per_image), settings.z)
    return FeatureScore(
        kind=kind, value=value, support=len(per_image), edits=sum(len(f) for f in flips.values()), flip_rate=rate,
        null_flip_rate=null_rate, score=rate - null_rate, ci_low=low, ci_high=high,
        suspected=len(per_image) >= settings.min_support and low > null_rate, rank=None,
    )  # fmt: skip


def _ranked(scores: list[FeatureScore], min_support: int) -> tuple[list[FeatureScore], list[FeatureScore]]:
    enough = sorted(
        (s for s in scores if s.support >= min_support), key=lambda s: (-s.score, -s.support, s.kind, s.value)
    )
    low = sorted((s for s in scores if s.support < min_support), key=lambda s: (-s.support, -s.score, s.kind, s.value))
    ranked = [FeatureScore(**{**s.as_dict(), "rank": n}) for n, s in enumerate(enough, start=1)]
    return ranked, low


def class_rankings(
    run: FlipTestRun, data: FlipTestImages, classes: list[str], settings: FlipTestSettings
) -> dict[str, ClassRanking]:
    """The ranking of every class that has images in `data` (keyed by class name, in `classes` order)."""
    null, features = _per_image_flips(run)
    rankings = {}
    for c, name in enumerate(classes):
        members = set(np.flatnonzero(data.labels == c).tolist())
        if not members:
            continue
        taking_part = [p for p in run.taking_part.tolist() if p in members]
        null_flips = [null[p] for p in taking_part if p in null]
        null_rate = float(np.mean(null_flips)) if null_flips else None
        scores = [
            _score(kind, value, {p: f for p, f in flips.items() if p in members}, null_rate or 0.0, settings)
            for (kind, value), flips in sorted(features.items())
            if any(p in members for p in flips)
        ]
        ranked, low = _ranked(scores, settings.min_support)
        misclassified = len(members) - len(taking_part)
        rankings[name] = ClassRanking(name, len(taking_part), misclassified, null_rate, ranked, low)
    return rankings
