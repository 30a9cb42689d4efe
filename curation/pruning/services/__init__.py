"""Services of clusters and pruning runs: every write, and the submission of their jobs.

clustering.py (the cluster job), pruning.py (the prune job), methods.py (params onto the ML core),
decisions.py (bulk decision rows), apply.py (a run into a new version), params.py (defaults and
validation), embeddings.py (reading a version's embeddings), demo_truth.py (precision and recall on
the demo), jobs.py (submission and cleanup)."""

from curation.pruning.services.apply import (
    prune_run_apply,
)
from curation.pruning.services.clustering import (
    class_mix,
    cluster_members_write,
    cluster_run_create,
    member_labels,
)
from curation.pruning.services.decisions import (
    BatchCallback,
    DecisionArrays,
    binary_copy_rows,
    decisions_write,
)
from curation.pruning.services.demo_truth import (
    demo_duplicate_scores,
    demo_truth_for_version,
)
from curation.pruning.services.embeddings import (
    Progress,
    VersionEmbeddings,
    embedding_coverage_check,
    embedding_files_open,
    embedding_rows_for,
    embedding_set_check,
    version_embeddings_load,
    version_member_ids,
)
from curation.pruning.services.jobs import (
    cluster_run_submit,
    prune_run_submit,
    pruning_job_cleanup,
)
from curation.pruning.services.methods import (
    MIN_EPS,
    PRUNE_METHODS,
    cluster_assignment_from_run,
    eps_for_keep_fraction,
    keep_target,
    method_run,
)
from curation.pruning.services.params import (
    CAN_REUSE_CLUSTERS,
    ClusterParams,
    PruneParams,
    cluster_params_validate,
    embedding_set_choose,
    method_defaults,
    prune_params_validate,
    version_get_or_error,
)
from curation.pruning.services.pruning import (
    cluster_budget_arrays,
    eps_sweep,
    prune_run_create,
    reason_counts,
    run_summary,
    semdedup_stage,
    split_summary,
)
from curation.pruning.services.splits import (
    DEFAULT_SPLITS,
    SPLITS,
    SplitScope,
    class_loss_warnings,
    class_losses,
    cluster_assignment_subset,
    keep_explanation,
    result_over_members,
    split_scope,
    splits_check,
    splits_normalize,
    version_split_counts,
)

__all__ = [
    "CAN_REUSE_CLUSTERS",
    "DEFAULT_SPLITS",
    "MIN_EPS",
    "PRUNE_METHODS",
    "SPLITS",
    "BatchCallback",
    "ClusterParams",
    "DecisionArrays",
    "Progress",
    "PruneParams",
    "SplitScope",
    "VersionEmbeddings",
    "binary_copy_rows",
    "class_loss_warnings",
    "class_losses",
    "class_mix",
    "cluster_assignment_from_run",
    "cluster_assignment_subset",
    "cluster_budget_arrays",
    "cluster_members_write",
    "cluster_params_validate",
    "cluster_run_create",
    "cluster_run_submit",
    "decisions_write",
    "demo_duplicate_scores",
    "demo_truth_for_version",
    "embedding_coverage_check",
    "embedding_files_open",
    "embedding_rows_for",
    "embedding_set_check",
    "embedding_set_choose",
    "eps_for_keep_fraction",
    "eps_sweep",
    "keep_explanation",
    "keep_target",
    "member_labels",
    "method_defaults",
    "method_run",
    "prune_params_validate",
    "prune_run_apply",
    "prune_run_create",
    "prune_run_submit",
    "pruning_job_cleanup",
    "reason_counts",
    "result_over_members",
    "run_summary",
    "semdedup_stage",
    "split_scope",
    "split_summary",
    "splits_check",
    "splits_normalize",
    "version_embeddings_load",
    "version_get_or_error",
    "version_member_ids",
    "version_split_counts",
]
