"""The sample list's `cluster_run` + `cluster` filter and its sort by distance to the centroid (`sort=cluster_distance`
with `sort_run`), both registered in PruningConfig.ready."""

from typing import Any

from django.db.models import F, QuerySet

from core.sql_rows import Slots, compiled_query
from curation.apis.sample_sets import sample_set_invalid
from curation.models import DatasetVersion
from curation.pruning.models import ClusterMember, ClusterRun
from curation.pruning.selectors.clusters import cluster_sample_ids
from curation.sample_sorts import RunSortKind, sort_run_invalid


def cluster_sample_set(version: DatasetVersion, run_id: int, index: int) -> QuerySet[Any] | set[int]:
    """The samples of cluster `index` of a finished cluster run of the version: a subquery of its member rows
    (runs made before they were stored: the ids read from the run's assignment file)."""
    # The run's two facts by a statement compiled once (the ORM compiled it on every filtered request).
    found = compiled_query("cluster set run", _run_facts).rows({"run": run_id, "version": version.pk})
    if not found or not found[0][0]:
        raise sample_set_invalid("cluster_run", f"cluster run {run_id} is not a finished run of this version")
    if found[0][1]:
        return ClusterMember.objects.filter(cluster_run_id=run_id, cluster=index).values("sample_id")
    return {int(i) for i in cluster_sample_ids(ClusterRun.objects.get(pk=run_id), index)}


def _run_facts(slots: Slots) -> QuerySet[Any]:
    runs = ClusterRun.objects.filter(pk=slots.int("run"), version_id=slots.int("version"))
    return runs.values_list("assignment_key", "members_stored")[:1]


def cluster_distance_rows(version: DatasetVersion, run_id: int) -> tuple[QuerySet[Any], int]:
    """A cluster run's members by cosine distance to their centroid (the grid's sort)."""
    run = ClusterRun.objects.filter(pk=run_id, version=version).first()
    if run is None or not run.members_stored:
        raise sort_run_invalid(
            f"cluster run {run_id} of this version has no stored distances (a finished run made after they were "
            "stored is needed)",
            sort_run=run_id,
        )
    return ClusterMember.objects.filter(cluster_run=run).annotate(sort_value=F("distance")), run.n_samples


CLUSTER_DISTANCE = RunSortKind(
    key="cluster_distance",
    title="Distance to the cluster centroid",
    run_noun="cluster run",
    rows=cluster_distance_rows,
    ascending="nearest first",
    descending="farthest first",
)
