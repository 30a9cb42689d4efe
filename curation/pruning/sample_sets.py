"""The sample list's `cluster_run` + `cluster` filter (registered in PruningConfig.ready)."""

from curation.apis.sample_sets import sample_set_invalid
from curation.models import DatasetVersion
from curation.pruning.models import ClusterRun
from curation.pruning.selectors.clusters import cluster_sample_ids


def cluster_sample_set(version: DatasetVersion, run_id: int, index: int) -> set[int]:
    """The samples of cluster `index` of a finished cluster run of the version."""
    run = ClusterRun.objects.filter(pk=run_id, version=version).first()
    if run is None or not run.assignment_key:
        raise sample_set_invalid("cluster_run", f"cluster run {run_id} is not a finished run of this version")
    return {int(i) for i in cluster_sample_ids(run, index)}
