"""What every pruning method returns: per-sample decisions over the whole array, and per-cluster budgets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class PruneReason(IntEnum):
    """Per-sample reason code, stored as int8."""

    KEPT = 0
    NOT_CANDIDATE = 1  # outside the rows given to the method (e.g. removed by an earlier stage)
    EXACT_DUPLICATE = 2  # byte-identical to an earlier row
    SEMANTIC_DUPLICATE = 3  # SemDeDup: cosine similarity > 1 - eps to an earlier item of its cluster
    OVER_CLUSTER_BUDGET = 4  # DBP: not among the N_j kept in its cluster
    PROTOTYPICALITY = 5  # SSP: outside the kept hardest/easiest share
    RANDOM_DROP = 6  # random control
    OUTSIDE_PRUNED_SPLITS = 7  # kept: its split was not among those the run pruned (never a method's decision)


@dataclass(frozen=True, eq=False)
class ClusterBudgets:
    """How many members each cluster keeps, with the quantities the budget came from."""

    sizes: np.ndarray  # (k,) members among the candidates
    budgets: np.ndarray  # (k,) int64, members kept
    lower: np.ndarray  # (k,) int64 lower bound
    upper: np.ndarray  # (k,) int64 upper bound
    complexity: np.ndarray | None = None  # DBP: C_j after NaN filling
    probability: np.ndarray | None = None  # DBP: softmax(C / tau)
    continuous: np.ndarray | None = None  # DBP: QP solution before rounding
    d_intra: np.ndarray | None = None
    d_inter: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class PruneResult:
    """Decisions for every sample of the (n, d) array a method was given.

    `score` means: SemDeDup, max similarity to an earlier item of the cluster (-inf if none);
    DBP and prototypicality, cosine distance to the centroid; exact, 1.0 for duplicates;
    random, NaN. `cluster` and `centroid_distance` are -1 / NaN outside the candidates.
    """

    method: str
    params: Mapping[str, object]
    keep: np.ndarray  # (n,) bool
    reason: np.ndarray  # (n,) int8 PruneReason
    score: np.ndarray  # (n,) float32
    cluster: np.ndarray | None = None  # (n,) int64
    centroid_distance: np.ndarray | None = None  # (n,) float32
    duplicate_of: np.ndarray | None = None  # (n,) int64: the earlier sample it duplicates, -1 otherwise
    cluster_budgets: ClusterBudgets | None = None
    stages: tuple[PruneResult, ...] = field(default=())

    @property
    def n_candidates(self) -> int:
        return int(np.count_nonzero(self.reason != PruneReason.NOT_CANDIDATE))

    @property
    def n_kept(self) -> int:
        return int(np.count_nonzero(self.keep))

    @property
    def kept_fraction(self) -> float:
        return self.n_kept / max(self.n_candidates, 1)


@dataclass(eq=False)
class RowDecisions:
    """A method's decisions for its candidate rows only; `scatter` spreads them over all n samples."""

    rows: np.ndarray  # (m,) int64 sorted sample indices
    keep: np.ndarray  # (m,) bool
    reason: np.ndarray  # (m,) int8
    score: np.ndarray  # (m,) float32
    cluster: np.ndarray | None = None
    centroid_distance: np.ndarray | None = None
    duplicate_of: np.ndarray | None = None  # sample indices, -1 when none
    cluster_budgets: ClusterBudgets | None = None
    params: dict[str, object] = field(default_factory=dict)

    def scatter(self, method: str, params: Mapping[str, object], n: int) -> PruneResult:
        def spread(values: np.ndarray | None, fill: float, dtype: type) -> np.ndarray | None:
            if values is None:
                return None
            out: np.ndarray = np.full(n, fill, dtype=dtype)
            out[self.rows] = values
            return out

        reason = np.full(n, PruneReason.NOT_CANDIDATE, dtype=np.int8)
        reason[self.rows] = self.reason
        return PruneResult(
            method=method,
            params={**params, **self.params},
            keep=spread(self.keep, False, np.bool_),  # type: ignore[arg-type]
            reason=reason,
            score=spread(self.score, np.nan, np.float32),  # type: ignore[arg-type]
            cluster=spread(self.cluster, -1, np.int64),
            centroid_distance=spread(self.centroid_distance, np.nan, np.float32),
            duplicate_of=spread(self.duplicate_of, -1, np.int64),
            cluster_budgets=self.cluster_budgets,
        )


def _concat_optional(parts: list[np.ndarray | None]) -> np.ndarray | None:
    return None if any(p is None for p in parts) else np.concatenate(parts)  # type: ignore[arg-type]


def _merge_budgets(parts: list[ClusterBudgets | None]) -> ClusterBudgets | None:
    if not parts or any(p is None for p in parts):
        return None
    names = ClusterBudgets.__dataclass_fields__
    merged = {name: _concat_optional([getattr(p, name) for p in parts]) for name in names}
    return ClusterBudgets(**merged)  # type: ignore[arg-type]  # required fields are never None here


def decide_per_class(
    rows: np.ndarray, class_labels: np.ndarray, decide: Callable[[np.ndarray], RowDecisions]
) -> RowDecisions:
    """Run `decide` on each class's rows separately (the budget applies within each class) and merge.

    Cluster ids are offset so that they stay unique across classes; budgets are concatenated in
    class order; params gain `per_class` with each class's candidates and kept count.
    """
    class_of_row = np.asarray(class_labels)[rows]
    parts: list[RowDecisions] = []
    summary: dict[str, dict[str, int]] = {}
    offset = 0
    for value in np.unique(class_of_row):
        part = decide(rows[class_of_row == value])
        if part.cluster is not None:
            part.cluster = np.where(part.cluster >= 0, part.cluster + offset, -1)
            offset += int(part.params.get("n_clusters", 0))  # type: ignore[call-overload]
        summary[str(value.item())] = {"n_candidates": int(part.rows.size), "n_kept": int(part.keep.sum())}
        summary[str(value.item())].update({k: v for k, v in part.params.items() if isinstance(v, int)})
        parts.append(part)
    order = np.argsort(np.concatenate([p.rows for p in parts]), kind="stable")

    def merged(name: str) -> np.ndarray | None:
        values = _concat_optional([getattr(p, name) for p in parts])
        return None if values is None else values[order]

    return RowDecisions(
        rows=rows,
        keep=merged("keep"),  # type: ignore[arg-type]
        reason=merged("reason"),  # type: ignore[arg-type]
        score=merged("score"),  # type: ignore[arg-type]
        cluster=merged("cluster"),
        centroid_distance=merged("centroid_distance"),
        duplicate_of=merged("duplicate_of"),
        cluster_budgets=_merge_budgets([p.cluster_budgets for p in parts]),
        params={"per_class": summary},
    )
