"""Writes of the embeddings app: embedding jobs and their chunks, duplicates, maps.

embedding_jobs.py (the embed job: plan, dispatch, compute chunks), chunks.py (claiming and computing one
chunk), finalize.py (one set from its chunks), duplicates.py (the find_duplicates job) with
duplicate_calibration.py, duplicate_verification.py, duplicate_keep.py and duplicate_truth.py (demo
precision and recall), maps.py (the embedding_map job). No module here loads an ML library at import:
encoders and FAISS load when a job runs.
"""

from curation.embeddings.services.chunks import (
    MAX_CHUNK_ATTEMPTS,
    CancelCheck,
    ChunkAbandoned,
    chunk_blob_read,
    chunk_claim,
    chunk_complete,
    chunk_compute,
    chunk_members,
    chunk_release,
    claim_stale_before,
    heartbeat,
    set_prefix,
    worker_name,
)
from curation.embeddings.services.duplicate_calibration import (
    calibration_key,
    duplicate_calibration_get_or_compute,
    verification_calibration,
)
from curation.embeddings.services.duplicate_keep import (
    duplicate_copies_to_drop,
    duplicate_run_keep_one,
)
from curation.embeddings.services.duplicate_truth import (
    demo_truth_document,
    demo_truth_metrics,
)
from curation.embeddings.services.duplicate_verification import (
    verification_thumbnails_read,
)
from curation.embeddings.services.duplicates import (
    FIND_DUPLICATES_JOB_KIND,
    DuplicateParams,
    duplicate_members_write,
    duplicate_params_validate,
    duplicate_run_result,
    duplicate_run_submit,
    duplicates_job,
)
from curation.embeddings.services.embedding_jobs import (
    EMBED_JOB_KIND,
    EmbedParams,
    embed_params_validate,
    embedding_chunk_work,
    embedding_job,
    embedding_job_cleanup,
    embedding_job_result,
    embedding_set_delete,
    embedding_set_plan,
    embedding_set_submit,
)
from curation.embeddings.services.finalize import (
    NothingEmbedded,
    SetFiles,
    embedding_set_finalize,
    embedding_set_finalize_claim,
    flat_index_max,
    set_files,
)
from curation.embeddings.services.maps import (
    EMBEDDING_MAP_JOB_KIND,
    MAP_METHODS,
    MapParams,
    embedding_map_cleanup,
    embedding_map_job,
    embedding_map_submit,
    map_key,
    map_params_validate,
)

__all__ = [
    "EMBEDDING_MAP_JOB_KIND",
    "EMBED_JOB_KIND",
    "FIND_DUPLICATES_JOB_KIND",
    "MAP_METHODS",
    "MAX_CHUNK_ATTEMPTS",
    "CancelCheck",
    "ChunkAbandoned",
    "DuplicateParams",
    "EmbedParams",
    "MapParams",
    "NothingEmbedded",
    "SetFiles",
    "calibration_key",
    "chunk_blob_read",
    "chunk_claim",
    "chunk_complete",
    "chunk_compute",
    "chunk_members",
    "chunk_release",
    "claim_stale_before",
    "demo_truth_document",
    "demo_truth_metrics",
    "duplicate_calibration_get_or_compute",
    "duplicate_copies_to_drop",
    "duplicate_members_write",
    "duplicate_params_validate",
    "duplicate_run_keep_one",
    "duplicate_run_result",
    "duplicate_run_submit",
    "duplicates_job",
    "embed_params_validate",
    "embedding_chunk_work",
    "embedding_job",
    "embedding_job_cleanup",
    "embedding_job_result",
    "embedding_map_cleanup",
    "embedding_map_job",
    "embedding_map_submit",
    "embedding_set_delete",
    "embedding_set_finalize",
    "embedding_set_finalize_claim",
    "embedding_set_plan",
    "embedding_set_submit",
    "flat_index_max",
    "heartbeat",
    "map_key",
    "map_params_validate",
    "set_files",
    "set_prefix",
    "verification_calibration",
    "verification_thumbnails_read",
    "worker_name",
]
