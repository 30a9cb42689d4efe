"""Celery tasks of the embeddings app: thin wrappers that take ids and call one service.

Chunk tasks are sent by the `embed` job when it plans its chunks; the finalize task by the chunk
task that completes the last chunk. Both are idempotent: a chunk that is done, held by a live
worker, or belongs to a cancelled job is left alone, and finalize runs once (a conditional UPDATE).
"""

import logging

from celery import shared_task

from curation.embeddings.services.embedding_jobs import embedding_chunk_work
from curation.embeddings.services.finalize import NothingEmbedded, embedding_set_finalize

logger = logging.getLogger(__name__)


@shared_task(name="embeddings.embed_chunk", acks_late=True, ignore_result=True)
def embedding_chunk_task(chunk_id: int) -> None:
    """Embed one chunk of an embedding set, if it is still to do."""
    outcome = embedding_chunk_work(chunk_id=chunk_id)
    logger.info("embedding chunk %s: %s", chunk_id, outcome)


@shared_task(name="embeddings.finalize_set", acks_late=True, ignore_result=True)
def embedding_set_finalize_task(embedding_set_id: int) -> None:
    """Assemble and index an embedding set whose chunks are all done (no-op if done or taken)."""
    try:
        finalized = embedding_set_finalize(embedding_set_id=embedding_set_id)
    except NothingEmbedded as exc:
        logger.warning("embedding set %s: %s", embedding_set_id, exc)
        return
    logger.info("embedding set %s: finalize %s", embedding_set_id, "done" if finalized else "not due or taken")
