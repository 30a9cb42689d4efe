"""The `embedding_map` job: 2-D coordinates of an embedding set's samples, stored as an `.npz`.

Rows are sampled in proportion to their primary label (small classes stay visible). PCA maps place
every row (the page downsamples per view, and shows all points of a zoomed-in region); t-SNE maps
place the sample only. The file is written through the storage API with its sha256 and the row is
created after it, so a failed job leaves neither.
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from core.api_errors import ApplicationError
from core.params import param
from core.storage import blob_delete
from curation.embeddings.files import CorruptEmbeddingFile, file_sha256, storage_output
from curation.embeddings.ml.map_projection import map_coordinates
from curation.embeddings.models import EmbeddingMap, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import embedding_set_arrays
from curation.models import VersionSample
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_submit

EMBEDDING_MAP_JOB_KIND = "embedding_map"
MAP_METHODS = ("pca", "tsne")


@dataclass(frozen=True)
class MapParams:
    """What an embedding map takes, declared once: the API's input, the page's form and `manage.py
    embedding_map` are generated from it (core.params); `map_params_validate` checks the set with its codes."""

    embedding_set_id: int = param(
        name="embedding_set", cli="embedding_set_id", api=False, page=False, help="Id of a ready embedding set."
    )
    method: str = param(
        "pca",
        choices=MAP_METHODS,
        code="invalid",
        message="method must be pca or tsne, got {value!r}",
        help="pca: every row; tsne: PCA, then t-SNE of a stratified sample.",
    )
    max_points: int | None = param(
        None,
        min=10,
        max=1_000_000,
        code="invalid",
        message="max_points must lie between 10 and 1000000, got {value}",
        help="Rows PCA is fitted on, or t-SNE places.",
        default_text="50000 for PCA, 5000 for t-SNE",
    )
    seed: int = param(0, help="Seed of the sample and of the projection.")
    perplexity: float = param(
        30.0,
        min=2,
        max=100,
        code="invalid",
        message="perplexity must lie between 2 and 100, got {value}",
        help="t-SNE perplexity.",
    )

    def as_job_params(self) -> dict[str, Any]:
        return asdict(self)


def map_params_validate(
    *,
    embedding_set_id: int,
    method: str = "pca",
    max_points: int | None = None,
    seed: int = 0,
    perplexity: float = 30.0,
) -> MapParams:
    """ApplicationError: not_found (404), not_ready (409), invalid."""
    embedding_set = EmbeddingSet.objects.filter(pk=embedding_set_id).first()
    if embedding_set is None:
        raise ApplicationError(f"embedding set {embedding_set_id} does not exist", code="not_found", status_code=404)
    if embedding_set.status != EmbeddingSetStatus.READY:
        message = f"embedding set {embedding_set_id} is {embedding_set.status}, not ready"
        raise ApplicationError(message, code="not_ready", status_code=409)
    if method not in MAP_METHODS:
        raise ApplicationError(f"method must be pca or tsne, got {method!r}")
    if max_points is not None and not 10 <= max_points <= 1_000_000:
        raise ApplicationError(f"max_points must lie between 10 and 1000000, got {max_points}")
    if not 2 <= perplexity <= 100:
        raise ApplicationError(f"perplexity must lie between 2 and 100, got {perplexity}")
    return MapParams(embedding_set_id, method, max_points, seed, perplexity)


def embedding_map_submit(*, params: MapParams, requested_by: User | None) -> Job:
    return job_submit(kind=EMBEDDING_MAP_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)


def map_key(embedding_set_id: int, job_id: int) -> str:
    return f"embeddings/sets/{embedding_set_id}/maps/job-{job_id}.npz"


def embedding_map_job(ctx: JobContext) -> dict[str, Any]:
    """The `embedding_map` job (params: MapParams). Returns the map id, method and the points placed."""
    params = MapParams(**{k: v for k, v in ctx.params.items() if k in MapParams.__dataclass_fields__})
    embedding_set = EmbeddingSet.objects.filter(pk=params.embedding_set_id).first()
    if embedding_set is None or embedding_set.status != EmbeddingSetStatus.READY:
        raise JobFailed(f"embedding set {params.embedding_set_id} is missing or not ready")
    try:
        arrays = embedding_set_arrays(embedding_set)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise JobFailed(str(exc))
    ctx.progress(0, 2, f"projecting {len(arrays.row_ids)} embeddings ({params.method})")
    started = time.perf_counter()
    labels = dict(VersionSample.objects.filter(version_id=embedding_set.version_id).values_list("sample_id", "label"))
    strata = np.asarray([labels.get(int(sample_id), "") for sample_id in arrays.row_ids])
    coordinates = map_coordinates(
        arrays.embeddings,
        method=params.method,
        max_points=params.max_points,
        seed=params.seed,
        strata=strata,
        perplexity=params.perplexity,
    )
    ctx.progress(1, 2, f"storing {len(coordinates.rows)} points")
    key = map_key(embedding_set.pk, ctx.job.pk)
    with storage_output(key) as path:
        buffer = io.BytesIO()
        np.savez(buffer, sample_ids=arrays.row_ids[coordinates.rows], xy=coordinates.xy.astype(np.float32))
        path.write_bytes(buffer.getvalue())
        checksum = file_sha256(path)
    with transaction.atomic():
        embedding_map = EmbeddingMap.objects.create(
            embedding_set=embedding_set,
            job=ctx.job,
            method=params.method,
            params=params.as_job_params(),
            points_key=key,
            points_checksum=checksum,
            point_count=len(coordinates.rows),
            seconds=round(time.perf_counter() - started, 2),
        )
    return {
        "embedding_map": embedding_map.pk,
        "embedding_set": embedding_set.pk,
        "dataset": embedding_set.dataset_id,
        "version": embedding_set.version_id,
        "method": params.method,
        "points": embedding_map.point_count,
        "rows": len(arrays.row_ids),
    }


def embedding_map_cleanup(job: Job) -> None:
    """After a failure or cancel: the map file the job may have stored (its row is created last)."""
    embedding_set_id = (job.params or {}).get("embedding_set_id")
    if embedding_set_id is not None and not EmbeddingMap.objects.filter(job=job).exists():
        blob_delete(map_key(int(embedding_set_id), job.pk))  # nothing stored there is no error
