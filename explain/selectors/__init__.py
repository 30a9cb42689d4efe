"""Reads of explanation runs (explanations.py): lists, details, a sample's maps, the report's figures."""

from explain.selectors.explanations import (
    GALLERY_SORTS,
    GalleryFilters,
    background_reliance_by_class,
    class_counts,
    compare_pairs,
    explanation_run_get,
    explanation_run_list,
    explanation_scores_summary,
    explanation_summary,
    raw_map_file_key,
    raw_map_files,
    run_figures,
    run_label,
    sample_explanation_list,
)

__all__ = [
    "GALLERY_SORTS",
    "GalleryFilters",
    "background_reliance_by_class",
    "class_counts",
    "compare_pairs",
    "explanation_run_get",
    "explanation_run_list",
    "explanation_scores_summary",
    "explanation_summary",
    "raw_map_file_key",
    "raw_map_files",
    "run_figures",
    "run_label",
    "sample_explanation_list",
]
