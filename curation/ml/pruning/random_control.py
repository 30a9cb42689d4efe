"""Random pruning: the control every other method is compared against.

Keeps exactly N = round(keep_fraction * n) candidates drawn uniformly without replacement with
`np.random.default_rng(seed)`; with class_labels, N is drawn within each class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from curation.ml.clustering import as_row_indices
from curation.ml.pruning.result import PruneReason, PruneResult, RowDecisions, decide_per_class
from curation.ml.pruning.selection import target_count


@dataclass(frozen=True)
class RandomPruningConfig:
    keep_fraction: float = 0.5
    seed: int = 1234

    def __post_init__(self) -> None:
        target_count(self.keep_fraction, 0)


def _random_rows(rows: np.ndarray, config: RandomPruningConfig) -> RowDecisions:
    n_keep = target_count(config.keep_fraction, rows.size)
    rng = np.random.default_rng([config.seed, int(rows[0]) if rows.size else 0])
    keep = np.zeros(rows.size, dtype=bool)
    keep[rng.choice(rows.size, size=n_keep, replace=False)] = True
    reason = np.where(keep, PruneReason.KEPT, PruneReason.RANDOM_DROP).astype(np.int8)
    score = np.full(rows.size, np.nan, dtype=np.float32)
    return RowDecisions(rows, keep, reason, score, params={"n_candidates": int(rows.size), "n_keep": n_keep})


def random_pruning(
    n: int,
    config: RandomPruningConfig | None = None,
    *,
    rows: np.ndarray | None = None,
    class_labels: np.ndarray | None = None,
) -> PruneResult:
    """Keep a seeded uniform random N = round(keep_fraction * n_candidates) of `rows` (default all n)."""
    config = config or RandomPruningConfig()
    rows = as_row_indices(rows, n)
    if class_labels is None:
        decisions = _random_rows(rows, config)
    else:
        decisions = decide_per_class(rows, class_labels, lambda part: _random_rows(part, config))
    return decisions.scatter("random", dataclasses.asdict(config), n)
