"""The finalize step of an embedding job: chunk outputs -> the set's `.npy` files, checksums, FAISS index.

It runs once every chunk is done, in whichever process claims it first (a conditional UPDATE on
the set: the completer of the last chunk, the finalize task it enqueued, or the job's coordinator
while it waits); a claimer that stops beating is replaced. Rows are written in chunk order, which
is sample-id order, so `row_ids` is sorted (a sample's row is found by binary search). Skipped
images leave no row: the files hold exactly `rows` embeddings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import numpy as np
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from curation.embeddings.files import file_sha256, storage_delete_prefix, storage_publish, storage_workspace
from curation.embeddings.models import EmbeddingChunk, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.services.chunks import chunk_blob_read, claim_stale_before, heartbeat, set_prefix
from curation.ml.embedding_store import EMBEDDINGS_FILE, ROW_IDS_FILE, EmbeddingWriter

logger = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
INDEX_ADD_BATCH = 65_536
DEFAULT_FLAT_INDEX_MAX = 200_000


class NothingEmbedded(RuntimeError):
    """Every image of the version failed to load: there is nothing to index."""


@dataclass(frozen=True)
class SetFiles:
    embeddings_key: str
    row_ids_key: str
    index_key: str


def set_files(embedding_set_id: int) -> SetFiles:
    prefix = set_prefix(embedding_set_id)
    return SetFiles(f"{prefix}/{EMBEDDINGS_FILE}", f"{prefix}/{ROW_IDS_FILE}", f"{prefix}/{INDEX_FILE}")


def flat_index_max() -> int:
    """Largest set searched with an exact flat index (WINNOW_EMBEDDING_FLAT_INDEX_MAX); IVF beyond."""
    return int(getattr(settings, "EMBEDDING_FLAT_INDEX_MAX", DEFAULT_FLAT_INDEX_MAX))


def embedding_set_finalize_claim(*, embedding_set_id: int) -> str | None:
    """Claim the finalize step (a conditional UPDATE); the claim token, or None when not due or taken."""
    token = uuid4().hex
    due = Q(status=EmbeddingSetStatus.EMBEDDING) | Q(
        status=EmbeddingSetStatus.FINALIZING, finalize_heartbeat_at__lt=claim_stale_before()
    )
    claimed = (
        EmbeddingSet.objects.filter(due, pk=embedding_set_id, chunks_done=F("chunk_count"))
        .exclude(chunk_count=0)
        .update(status=EmbeddingSetStatus.FINALIZING, finalize_token=token, finalize_heartbeat_at=timezone.now())
    )
    return token if claimed else None


def embedding_set_finalize(*, embedding_set_id: int) -> bool:
    """Assemble and index the set if its finalize step is due and unclaimed; True when this call did it.

    Raises NothingEmbedded (after marking the set failed) when no image could be embedded.
    """
    token = embedding_set_finalize_claim(embedding_set_id=embedding_set_id)
    if token is None:
        return False
    mine = EmbeddingSet.objects.filter(pk=embedding_set_id, finalize_token=token)
    with heartbeat(lambda: mine.update(finalize_heartbeat_at=timezone.now())):
        embedding_set = mine.get()
        chunks = list(embedding_set.chunks.order_by("number"))
        rows = sum(chunk.embedded for chunk in chunks)
        skipped = sum(len(chunk.failures) for chunk in chunks)
        if rows == 0:
            message = f"none of the {embedding_set.planned_rows} images could be embedded (see the chunk failures)"
            mine.update(status=EmbeddingSetStatus.FAILED, error=message, skipped=skipped, finished_at=timezone.now())
            raise NothingEmbedded(message)
        fields = _assemble(embedding_set, chunks, rows)
    updated = mine.update(
        status=EmbeddingSetStatus.READY, rows=rows, skipped=skipped, finished_at=timezone.now(), **fields
    )
    if updated:
        storage_delete_prefix(f"{set_prefix(embedding_set_id)}/parts")
    return bool(updated)


def _assemble(embedding_set: EmbeddingSet, chunks: list[EmbeddingChunk], rows: int) -> dict[str, object]:
    """Write embeddings, row ids and the index in a workspace, checksum them, publish them to storage."""
    files = set_files(embedding_set.pk)
    with storage_workspace(set_prefix(embedding_set.pk)) as folder:
        writer = EmbeddingWriter.create(folder, num_rows=rows, dim=embedding_set.dim)
        start = 0
        for chunk in chunks:
            if chunk.embedded:
                ids, vectors = chunk_blob_read(chunk.blob_key)
                writer.write_chunk(start, start + len(ids), ids, vectors)
                start += len(ids)
        del writer  # flushed per chunk; closes the memory maps
        index_kind = _build_index(folder, embedding_set.dim)
        checksums = {name: file_sha256(folder / name) for name in (EMBEDDINGS_FILE, ROW_IDS_FILE, INDEX_FILE)}
        for name, key in ((EMBEDDINGS_FILE, files.embeddings_key), (ROW_IDS_FILE, files.row_ids_key)):
            storage_publish(folder / name, key, sha256=checksums[name])
        storage_publish(folder / INDEX_FILE, files.index_key, sha256=checksums[INDEX_FILE])
    return {
        "embeddings_key": files.embeddings_key,
        "row_ids_key": files.row_ids_key,
        "index_key": files.index_key,
        "index_kind": index_kind,
        "checksum": checksums[EMBEDDINGS_FILE],
        "row_ids_checksum": checksums[ROW_IDS_FILE],
        "index_checksum": checksums[INDEX_FILE],
    }


def _build_index(folder: Path, dim: int) -> str:
    """FAISS inner-product index over the rows (ids = sample ids): flat up to flat_index_max(), IVF beyond."""
    from curation.ml.similarity import FaissIndex  # noqa: PLC0415 - FAISS: only the finalizing worker builds an index

    embeddings = np.load(folder / EMBEDDINGS_FILE, mmap_mode="r")
    row_ids = np.load(folder / ROW_IDS_FILE, mmap_mode="r")
    index = FaissIndex(dim, flat_max=flat_index_max())
    for start in range(0, len(row_ids), INDEX_ADD_BATCH):
        stop = start + INDEX_ADD_BATCH
        index.add(np.asarray(embeddings[start:stop]), np.asarray(row_ids[start:stop]))  # float16 while pending
    index.save(folder / INDEX_FILE)
    return index.kind
