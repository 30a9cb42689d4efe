"""The clustering job: spherical k-means of a version's embeddings and DBP's per-cluster statistics.

docs/METHODS.md §1-2: FAISS spherical k-means (curation.ml.clustering), every member assigned to its
nearest centroid, then d_intra, d_inter (l = 20 nearest other centroids) and C = d_intra x d_inter
per cluster. k defaults to round(sqrt(n / 2)) (stated in the run's params). The arrays go to blobs
first and the rows are written in one transaction at the end, so a failure leaves no ClusterRun,
and the blobs written so far are deleted (the job kind's cleanup also sweeps the job's prefix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from core.bulk_rows import columns_write
from curation.embeddings.models import EmbeddingSet
from curation.ml.clustering import KMeansConfig, cluster_complexity, default_n_clusters, spherical_kmeans
from curation.models import DatasetVersion, VersionSample
from curation.pruning.blobs import arrays_save, blobs_delete, run_blob_prefix
from curation.pruning.models import Cluster, ClusterMember, ClusterRun
from curation.pruning.services.embeddings import Progress, version_embeddings_load
from curation.pruning.services.params import ClusterParams
from jobs.models import Job


def member_labels(version: DatasetVersion, sample_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(label code per sample in `sample_ids` order, label names); code -1 for a missing member."""
    rows = VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", "label")
    ids, labels = [], []
    for sample_id, label in rows.iterator(chunk_size=50_000):
        ids.append(sample_id)
        labels.append(label)
    names, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    out = np.full(sample_ids.size, -1, dtype=np.int64)
    position = np.searchsorted(sample_ids, np.asarray(ids, dtype=np.int64))
    out[position] = codes
    return out, [str(name) for name in names]


def class_mix(cluster: np.ndarray, label_codes: np.ndarray, label_names: list[str], k: int) -> list[dict[str, int]]:
    """{label: members} per cluster, largest first."""
    n_labels = max(len(label_names), 1)
    counts = np.bincount(cluster * n_labels + label_codes, minlength=k * n_labels).reshape(k, n_labels)
    mixes = []
    for row in counts:
        present = np.flatnonzero(row)
        ordered = present[np.argsort(-row[present], kind="stable")]
        mixes.append({label_names[i]: int(row[i]) for i in ordered})
    return mixes


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def cluster_members_write(run: ClusterRun, sample_ids: np.ndarray, labels: np.ndarray, distances: np.ndarray) -> None:
    """The run's ClusterMember rows (the grid's cluster filter and distance sort), by COPY where it can."""
    columns_write(
        ClusterMember,
        {
            "cluster_run_id": np.full(sample_ids.size, run.pk, dtype=np.int64),
            "sample_id": sample_ids.astype(np.int64),
            "cluster": labels.astype(np.int32),
            "distance": distances.astype(np.float64),
        },
    )


def cluster_run_create(
    *,
    params: ClusterParams,
    job: Job | None = None,
    user: User | None = None,
    progress: Progress | None = None,
) -> ClusterRun:
    """Cluster the version's members in the embedding set (both as validated in `params`).

    Args:
        params: ClusterParams (n_clusters None: default_n_clusters(n), niter 20, seed 1234, l = 20).
        job: the job running this (blob prefix, link); user: who asked; progress: (done, total, message).
    """
    if params.embedding_set_id is None:
        raise ValueError("the embedding set is chosen by cluster_params_validate")
    version = DatasetVersion.objects.get(pk=params.version_id)
    embedding_set = EmbeddingSet.objects.get(pk=params.embedding_set_id)
    loaded = version_embeddings_load(version=version, embedding_set=embedding_set, progress=progress)
    n = loaded.sample_ids.size
    k = params.n_clusters or default_n_clusters(n)
    config = KMeansConfig(n_clusters=k, niter=params.niter, seed=params.seed)
    if progress is not None:
        progress(0, 2, f"k-means, k = {k}")
    assignment = spherical_kmeans(loaded.vectors, config)
    stats = cluster_complexity(assignment, n_neighbors=params.n_inter_neighbors)
    codes, names = member_labels(version, loaded.sample_ids)
    mixes = class_mix(assignment.labels, codes, names, k)
    if progress is not None:
        progress(1, 2, "storing the clusters")
    prefix = run_blob_prefix(job)
    keys = [f"{prefix}/assignment.npz", f"{prefix}/centroids.npz"]
    try:
        arrays_save(
            keys[0],
            sample_ids=loaded.sample_ids,
            cluster=assignment.labels.astype(np.int32),
            distance=assignment.dist_to_centroid,
        )
        arrays_save(keys[1], centroids=assignment.centroids)
        run_params: dict[str, Any] = {
            **params.as_job_params(),
            "n_clusters": k,
            "k_heuristic": None if params.n_clusters else "round(sqrt(n / 2))",
            "max_points_per_centroid": config.max_points_per_centroid,
            "spherical": True,
        }
        summary = {
            "seconds_load": round(loaded.seconds, 3),
            "seconds_train": round(assignment.train_seconds, 3),
            "seconds_assign": round(assignment.assign_seconds, 3),
            "n_train": assignment.n_train,
            "n_inter_neighbors_used": stats.n_neighbors,
            "empty_clusters": int(np.count_nonzero(assignment.sizes == 0)),
        }
        with transaction.atomic():
            run = ClusterRun.objects.create(
                version=version,
                embedding_set=embedding_set,
                n_clusters=k,
                n_samples=n,
                params=run_params,
                summary=summary,
                assignment_key=keys[0],
                centroids_key=keys[1],
                members_stored=True,
                job=job,
                created_by=user,
            )
            cluster_members_write(run, loaded.sample_ids, assignment.labels, assignment.dist_to_centroid)
            Cluster.objects.bulk_create(
                [
                    Cluster(
                        cluster_run=run,
                        index=index,
                        size=int(assignment.sizes[index]),
                        d_intra=_finite_or_none(stats.d_intra[index]),
                        d_inter=_finite_or_none(stats.d_inter[index]),
                        complexity=float(stats.complexity[index]),
                        class_mix=mixes[index],
                    )
                    for index in range(k)
                ],
                batch_size=2000,
            )
    except BaseException:
        blobs_delete(keys)
        raise
    if progress is not None:
        progress(2, 2, f"{k} clusters")
    return run
