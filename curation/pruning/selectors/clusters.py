"""Cluster runs: the cluster table, galleries by distance to the centroid, members for filters and map colours.

Assignments are read from the run's npz blob (cached per process; a stored run never changes), so a
gallery or a filter over a million samples costs a NumPy pass, not a table scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from core.figures import class_colour, figure
from curation.models import DatasetVersion, VersionSample
from curation.pruning.blobs import arrays_load
from curation.pruning.models import Cluster, ClusterRun

CLUSTER_ORDERS = {"complexity": "-complexity", "size": "-size", "index": "index", "d_intra": "-d_intra"}


@dataclass(frozen=True)
class GalleryItem:
    member: VersionSample
    distance: float


@dataclass(frozen=True)
class ClusterGallery:
    cluster: Cluster
    prototypical: list[GalleryItem]  # nearest the centroid first
    atypical: list[GalleryItem]  # farthest from the centroid first


def cluster_runs_of_version(version: DatasetVersion) -> QuerySet[ClusterRun]:
    return ClusterRun.objects.filter(version=version).select_related("embedding_set", "created_by").order_by("-id")


def cluster_run_get(cluster_run_id: int) -> ClusterRun | None:
    return ClusterRun.objects.select_related("version__dataset", "embedding_set").filter(pk=cluster_run_id).first()


def cluster_table(cluster_run: ClusterRun, *, order: str = "complexity", limit: int | None = None) -> list[Cluster]:
    """The run's clusters in `order` (complexity, size, index or d_intra; unknown means complexity)."""
    clusters = cluster_run.clusters.order_by(CLUSTER_ORDERS.get(order, "-complexity"), "index")
    return list(clusters[:limit] if limit is not None else clusters)


def cluster_members_by_distance(cluster_run: ClusterRun, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(sample ids, distances) of one cluster's members, nearest the centroid first."""
    stored = arrays_load(cluster_run.assignment_key)
    members = np.flatnonzero(stored["cluster"] == index)
    order = members[np.lexsort((stored["sample_ids"][members], stored["distance"][members]))]
    return stored["sample_ids"][order], stored["distance"][order]


def cluster_sample_ids(cluster_run: ClusterRun, index: int) -> np.ndarray:
    """The sample ids of one cluster, ascending (a grid filter: `sample_id__in` over a keyset window)."""
    stored = arrays_load(cluster_run.assignment_key)
    return stored["sample_ids"][stored["cluster"] == index]


def sample_cluster_labels(cluster_run: ClusterRun, sample_ids: np.ndarray) -> np.ndarray:
    """The cluster of each of `sample_ids` (-1 for samples outside the run): colours for the embedding map."""
    stored = arrays_load(cluster_run.assignment_key)
    ids = np.asarray(sample_ids, dtype=np.int64)
    position = np.minimum(np.searchsorted(stored["sample_ids"], ids), max(stored["sample_ids"].size - 1, 0))
    found = stored["sample_ids"][position] == ids
    return np.where(found, stored["cluster"][position], -1).astype(np.int64)


def _members(version_id: int, sample_ids: list[int]) -> dict[int, VersionSample]:
    rows = VersionSample.objects.filter(version_id=version_id, sample_id__in=sample_ids).select_related("sample")
    return {member.sample_id: member for member in rows}


def cluster_gallery(cluster_run: ClusterRun, cluster: Cluster, *, size: int = 6) -> ClusterGallery:
    """The `size` most and least prototypical members of a cluster (by cosine distance to its centroid)."""
    ids, distances = cluster_members_by_distance(cluster_run, cluster.index)
    near = list(range(min(size, ids.size)))
    far = [i for i in range(ids.size - 1, max(ids.size - 1 - size, -1), -1) if i not in near]
    members = _members(cluster_run.version_id, [int(ids[i]) for i in near + far])

    def items(positions: list[int]) -> list[GalleryItem]:
        found = (i for i in positions if int(ids[i]) in members)
        return [GalleryItem(members[int(ids[i])], float(distances[i])) for i in found]

    return ClusterGallery(cluster, items(near), items(far))


def cluster_member_page(
    cluster_run: ClusterRun, index: int, *, start: int = 0, size: int = 60
) -> tuple[list[GalleryItem], int | None]:
    """Members ranked by distance to the centroid from rank `start`, and the next page's start (or None)."""
    ids, distances = cluster_members_by_distance(cluster_run, index)
    chosen = range(max(start, 0), min(max(start, 0) + size, ids.size))
    members = _members(cluster_run.version_id, [int(ids[i]) for i in chosen])
    items = [GalleryItem(members[int(ids[i])], float(distances[i])) for i in chosen if int(ids[i]) in members]
    return items, (chosen.stop if chosen.stop < ids.size else None)


def complexity_figure(clusters: list[Cluster]) -> dict[str, Any]:
    """Plotly scatter (WebGL): d_intra vs d_inter per cluster, marker area ~ size, colour = complexity."""
    shown = [c for c in clusters if c.d_intra is not None and c.d_inter is not None]
    largest = max((c.size for c in shown), default=1)
    trace = {
        "type": "scattergl",
        "mode": "markers",
        "x": [c.d_intra for c in shown],
        "y": [c.d_inter for c in shown],
        "customdata": [[c.index, c.size, c.complexity] for c in shown],
        "hovertemplate": "cluster %{customdata[0]}<br>%{customdata[1]} samples<br>"
        "C = %{customdata[2]:.4f}<extra></extra>",
        "marker": {
            "size": [6 + 24 * (c.size / largest) ** 0.5 for c in shown],
            "color": [c.complexity for c in shown],
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": {"text": "C"}},
        },
    }
    return figure(
        [trace] if shown else [],
        showlegend=False,
        xaxis={"title": {"text": "d_intra (spread around the centroid)"}},
        yaxis={"title": {"text": "d_inter (distance to the 20 nearest centroids)"}},
    )


def class_mix_figure(clusters: list[Cluster], classes: list[str]) -> dict[str, Any]:
    """Plotly stacked bars: members per primary label in each of `clusters` (in the order given)."""
    labels = [name for name in classes if any(name in c.class_mix for c in clusters)]
    labels += sorted({name for c in clusters for name in c.class_mix} - set(labels))
    traces = [
        {
            "type": "bar",
            "name": label or "(unlabeled)",
            "x": [f"#{c.index}" for c in clusters],
            "y": [c.class_mix.get(label, 0) for c in clusters],
            "marker": {"color": class_colour(label, classes)},
        }
        for label in labels
    ]
    return figure(
        traces,
        barmode="stack",
        xaxis={"title": {"text": "Cluster"}, "type": "category"},
        yaxis={"title": {"text": "Samples"}, "rangemode": "tozero"},
    )
