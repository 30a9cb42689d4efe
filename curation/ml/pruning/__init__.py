"""Dataset pruning on embeddings: exact and semantic deduplication, density-based and prototypicality pruning.

Django-free: everything takes (n, d) float32 arrays of L2-normalised rows and returns a
PruneResult with per-sample decisions (see result.py). docs/METHODS.md says how SemDeDup and DBP
follow their reference code and where they deviate.
"""

from curation.ml.pruning.dbp import (
    DBPConfig,
    dbp_cluster_budgets,
    density_based_pruning,
    round_budgets,
    solve_budget_qp,
)
from curation.ml.pruning.exact import exact_dedup, exact_duplicate_of
from curation.ml.pruning.pipeline import semdedup_then_dbp
from curation.ml.pruning.prototypicality import PrototypicalityConfig, prototypicality_pruning
from curation.ml.pruning.random_control import RandomPruningConfig, random_pruning
from curation.ml.pruning.result import ClusterBudgets, PruneReason, PruneResult
from curation.ml.pruning.semdedup import (
    DEFAULT_EPS_SWEEP,
    SemDeDupConfig,
    SweepPoint,
    max_earlier_similarity,
    semdedup,
    semdedup_rethreshold,
    semdedup_sweep,
)

__all__ = [
    "DEFAULT_EPS_SWEEP",
    "ClusterBudgets",
    "DBPConfig",
    "PrototypicalityConfig",
    "PruneReason",
    "PruneResult",
    "RandomPruningConfig",
    "SemDeDupConfig",
    "SweepPoint",
    "dbp_cluster_budgets",
    "density_based_pruning",
    "exact_dedup",
    "exact_duplicate_of",
    "max_earlier_similarity",
    "prototypicality_pruning",
    "random_pruning",
    "round_budgets",
    "semdedup",
    "semdedup_rethreshold",
    "semdedup_sweep",
    "semdedup_then_dbp",
    "solve_budget_qp",
]
