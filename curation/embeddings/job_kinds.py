"""Job kinds of the embeddings app; each is a thin wrapper around one service."""

from typing import Any

from curation.embeddings.services.duplicates import FIND_DUPLICATES_JOB_KIND, duplicates_job
from curation.embeddings.services.embedding_jobs import EMBED_JOB_KIND, embedding_job, embedding_job_cleanup
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, embedding_map_cleanup, embedding_map_job
from jobs.runtime import JobContext, job_kind


@job_kind(EMBED_JOB_KIND, queue="gpu", capability="curate", cleanup=embedding_job_cleanup)
def embed_job(ctx: JobContext) -> dict[str, Any]:
    """Embed every image of a dataset version with an encoder, in chunks shared by the workers."""
    return embedding_job(ctx)


# On the GPU queue too: calibration embeds perturbed copies with the set's encoder. The run is written
# in one transaction at the end, so there is nothing to clean up.
@job_kind(FIND_DUPLICATES_JOB_KIND, queue="gpu", capability="curate")
def find_duplicates_job(ctx: JobContext) -> dict[str, Any]:
    """Exact and near-duplicate groups of an embedding set, at a calibrated (or given) threshold."""
    return duplicates_job(ctx)


@job_kind(EMBEDDING_MAP_JOB_KIND, queue="default", capability="curate", cleanup=embedding_map_cleanup)
def embedding_map_job_kind(ctx: JobContext) -> dict[str, Any]:
    """2-D map (PCA, or PCA then t-SNE) of an embedding set, for the embedding map page."""
    return embedding_map_job(ctx)
