"""Reads of the curation base: datasets and versions (datasets.py), a version's member counts and the dataset
page's figures (stats.py), and samples with the sample grid's filtered, keyset-paged list (samples.py)."""

from curation.selectors.datasets import (
    dataset_get,
    dataset_list,
    dataset_list_with_version_stats,
    dataset_summary_list,
    dataset_versions,
    version_by_number,
    version_get,
    version_latest,
)
from curation.selectors.samples import (
    SAMPLE_ORDERS,
    SampleIds,
    SampleNeighbors,
    SamplePage,
    sample_duplicate_names,
    sample_get,
    sample_list,
    sample_neighbors,
    sample_page,
    version_member_get,
)
from curation.selectors.stats import (
    VersionStats,
    class_split_figure,
    image_size_figure,
    version_class_counts,
    version_label_options,
    version_stats,
)

__all__ = [
    "SAMPLE_ORDERS",
    "SampleIds",
    "SampleNeighbors",
    "SamplePage",
    "VersionStats",
    "class_split_figure",
    "dataset_get",
    "dataset_list",
    "dataset_list_with_version_stats",
    "dataset_summary_list",
    "dataset_versions",
    "image_size_figure",
    "sample_duplicate_names",
    "sample_get",
    "sample_list",
    "sample_neighbors",
    "sample_page",
    "version_by_number",
    "version_class_counts",
    "version_get",
    "version_label_options",
    "version_latest",
    "version_member_get",
    "version_stats",
]
