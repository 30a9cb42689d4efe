"""Job kinds of the embeddings app; each is a thin wrapper around one service.

Every process imports this module at start-up (AppConfig.ready), so the services (and torch, open_clip
and FAISS behind them) are imported only when a job runs: functions and cleanups go through `deferred`.
The kind names are the services' *_JOB_KIND constants.
"""

from typing import Any

from jobs.runtime import JobContext, deferred, job_kind

_embedding_job = deferred("curation.embeddings.services.embedding_jobs:embedding_job")
_duplicates_job = deferred("curation.embeddings.services.duplicates:duplicates_job")
_embedding_map_job = deferred("curation.embeddings.services.maps:embedding_map_job")


@job_kind(
    "embed",
    queue="gpu",
    capability="curate",
    cleanup=deferred("curation.embeddings.services.embedding_jobs:embedding_job_cleanup"),
)
def embed_job(ctx: JobContext) -> dict[str, Any]:
    """Embed every image of a dataset version with an encoder, in chunks shared by the workers."""
    return _embedding_job(ctx)


# On the GPU queue too: calibration embeds perturbed copies with the set's encoder. The run is written
# in one transaction at the end, so there is nothing to clean up.
@job_kind("find_duplicates", queue="gpu", capability="curate")
def find_duplicates_job(ctx: JobContext) -> dict[str, Any]:
    """Exact and near-duplicate groups of an embedding set, at a calibrated (or given) threshold."""
    return _duplicates_job(ctx)


@job_kind(
    "embedding_map",
    queue="default",
    capability="curate",
    cleanup=deferred("curation.embeddings.services.maps:embedding_map_cleanup"),
)
def embedding_map_job_kind(ctx: JobContext) -> dict[str, Any]:
    """2-D map (PCA, or PCA then t-SNE) of an embedding set, for the embedding map page."""
    return _embedding_map_job(ctx)
