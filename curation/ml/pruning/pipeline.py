"""The "semdedup+dbp" pipeline of the DBP paper: exact duplicates, then SemDeDup, then DBP on the survivors.

Each stage only sees the survivors of the one before. The combined result takes, per sample,
the reason, score, duplicate_of and cluster of the last stage that saw it (so `cluster` is the
DBP cluster for the samples DBP saw); the stage results are kept in `stages`.
"""

from __future__ import annotations

import numpy as np

from curation.ml.clustering import as_row_indices, check_unit_rows
from curation.ml.pruning.dbp import DBPConfig, density_based_pruning
from curation.ml.pruning.exact import exact_dedup
from curation.ml.pruning.result import PruneReason, PruneResult
from curation.ml.pruning.semdedup import SemDeDupConfig, semdedup


def _overlay(base: np.ndarray | None, stage: np.ndarray | None, seen: np.ndarray) -> np.ndarray | None:
    if stage is None:
        return base
    if base is None:
        return stage.copy()
    out = base.copy()
    out[seen] = stage[seen]
    return out


def _combine(stages: list[PruneResult], params: dict[str, object]) -> PruneResult:
    combined = stages[0]
    for stage in stages[1:]:
        seen = stage.reason != PruneReason.NOT_CANDIDATE
        combined = PruneResult(
            method="semdedup+dbp",
            params=params,
            keep=stage.keep.copy(),
            reason=_overlay(combined.reason, stage.reason, seen),  # type: ignore[arg-type]
            score=_overlay(combined.score, stage.score, seen),  # type: ignore[arg-type]
            cluster=_overlay(combined.cluster, stage.cluster, seen),
            centroid_distance=_overlay(combined.centroid_distance, stage.centroid_distance, seen),
            duplicate_of=_overlay(combined.duplicate_of, stage.duplicate_of, seen),
            cluster_budgets=stage.cluster_budgets,
        )
    return PruneResult(**{**combined.__dict__, "params": params, "stages": tuple(stages)})


def semdedup_then_dbp(
    embeddings: np.ndarray,
    semdedup_config: SemDeDupConfig | None = None,
    dbp_config: DBPConfig | None = None,
    *,
    rows: np.ndarray | None = None,
    class_labels: np.ndarray | None = None,
    exact_first: bool = True,
) -> PruneResult:
    """Exact dedup (optional), SemDeDup, then DBP on the survivors of unit-norm float32 `embeddings`.

    Args:
        semdedup_config / dbp_config: stage configs (defaults: SemDeDupConfig(), DBPConfig());
            DBP's keep_fraction applies to SemDeDup's survivors.
        rows: candidate rows (indices or mask); default all.
        class_labels: (n,) labels; DBP's budget then applies within each class (SemDeDup ignores classes).
        exact_first: drop byte-identical rows by hashing before SemDeDup (cheaper, clearer reason).
    """
    semdedup_config = semdedup_config or SemDeDupConfig()
    dbp_config = dbp_config or DBPConfig()
    check_unit_rows(embeddings)
    rows = as_row_indices(rows, embeddings.shape[0])
    stages: list[PruneResult] = []
    if exact_first:
        stages.append(exact_dedup(embeddings, rows=rows))
        rows = np.flatnonzero(stages[-1].keep)
    stages.append(semdedup(embeddings, semdedup_config, rows=rows))
    stages.append(density_based_pruning(embeddings, dbp_config, rows=stages[-1].keep, class_labels=class_labels))
    params: dict[str, object] = {stage.method: dict(stage.params) for stage in stages}
    return _combine(stages, params)
