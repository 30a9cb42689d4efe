"""A near-duplicate threshold calibrated on the dataset's own images, per encoder.

A fixed cosine threshold means different things for different encoders and datasets (a peer tool's
fixed default found 29/30 injected near duplicates at precision 0.17, or 5/30 at precision 1.0).
So: perturb a sample of the dataset's images the way near duplicates arise (perturbations.py),
embed the copies with the same encoder, and take the highest threshold that still catches
``target`` of the (original, copy) pairs: the k-th smallest pair similarity, k = floor((1 - target) m).
The similarities of each sampled image to its nearest other image in the set (mostly not a
duplicate) are kept beside them, so the page shows both histograms and how many nearest
neighbours the threshold would also flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_TARGET = 0.99
HISTOGRAM_BINS = 40


@dataclass(frozen=True, eq=False)
class Calibration:
    threshold: float
    target: float
    pair_scores: np.ndarray  # cosine(original, perturbed copy), one per copy
    pair_kinds: list[str]  # the perturbation of each copy
    neighbour_scores: np.ndarray  # cosine of each sampled image to its nearest other image

    @property
    def caught(self) -> float:
        """Share of perturbed pairs at or above the threshold (>= target by construction)."""
        return float(np.mean(self.pair_scores >= self.threshold)) if len(self.pair_scores) else 0.0

    @property
    def neighbours_flagged(self) -> float:
        """Share of nearest neighbours at or above the threshold (duplicates already in the set, or false alarms)."""
        return float(np.mean(self.neighbour_scores >= self.threshold)) if len(self.neighbour_scores) else 0.0

    def per_kind(self) -> dict[str, dict[str, float]]:
        """Per perturbation: pairs, share caught, lowest similarity."""
        kinds = np.asarray(self.pair_kinds)
        summary = {}
        for kind in dict.fromkeys(self.pair_kinds):
            scores = self.pair_scores[kinds == kind]
            summary[kind] = {
                "pairs": len(scores),
                "caught": round(float(np.mean(scores >= self.threshold)), 4),
                "min_similarity": round(float(scores.min()), 4),
            }
        return summary

    def as_dict(self) -> dict[str, object]:
        """JSON: threshold, target, shares, per-kind summary and histograms (shared bin edges)."""
        low = float(min(self.pair_scores.min(initial=1.0), self.neighbour_scores.min(initial=1.0)))
        edges = np.linspace(math.floor(low * 100) / 100, 1.0, HISTOGRAM_BINS + 1)
        return {
            "threshold": round(self.threshold, 6),
            "target": self.target,
            "pairs": len(self.pair_scores),
            "caught": round(self.caught, 4),
            "neighbours": len(self.neighbour_scores),
            "neighbours_flagged": round(self.neighbours_flagged, 4),
            "per_kind": self.per_kind(),
            "bin_edges": [round(float(edge), 4) for edge in edges],
            "pair_histogram": np.histogram(np.clip(self.pair_scores, edges[0], 1.0), edges)[0].tolist(),
            "neighbour_histogram": np.histogram(np.clip(self.neighbour_scores, edges[0], 1.0), edges)[0].tolist(),
        }


def threshold_for_target(pair_scores: np.ndarray, target: float) -> float:
    """The largest threshold t with share(pair_scores >= t) >= target."""
    if not 0 < target <= 1:
        raise ValueError(f"target must lie in (0, 1], got {target}")
    if len(pair_scores) == 0:
        raise ValueError("no perturbed pairs to calibrate on")
    ordered = np.sort(np.asarray(pair_scores, dtype=np.float64))
    k = math.floor((1 - target) * len(ordered) + 1e-9)
    return float(ordered[k])


def calibrate(
    pair_scores: np.ndarray, pair_kinds: list[str], neighbour_scores: np.ndarray, *, target: float = DEFAULT_TARGET
) -> Calibration:
    """The calibration of ``pair_scores`` (cosine of each original with its perturbed copy) for ``target``."""
    scores = np.asarray(pair_scores, dtype=np.float32)
    return Calibration(
        threshold=threshold_for_target(scores, target),
        target=target,
        pair_scores=scores,
        pair_kinds=list(pair_kinds),
        neighbour_scores=np.asarray(neighbour_scores, dtype=np.float32),
    )
