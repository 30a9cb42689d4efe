"""Reads of evaluation runs: summaries, mCE against the chosen baseline, report figures, comparisons."""

from robustness.evaluation.selectors.compare import (
    compare_figures,
    comparison_row,
    pruning_frontier_figure,
    sample_group_compare,
    training_keep_fraction,
)
from robustness.evaluation.selectors.figures import report_figures
from robustness.evaluation.selectors.runs import (
    corruption_table,
    evaluation_baseline_candidates,
    evaluation_run_get,
    evaluation_run_list,
    evaluation_summary,
)

__all__ = [
    "compare_figures",
    "comparison_row",
    "corruption_table",
    "evaluation_baseline_candidates",
    "evaluation_run_get",
    "evaluation_run_list",
    "evaluation_summary",
    "pruning_frontier_figure",
    "report_figures",
    "sample_group_compare",
    "training_keep_fraction",
]
