"""Reads of embedding sets: lists, the verified files, "more like this" and text-to-image search.

Files are checked against the checksums recorded when they were written before they are used
(once per process per file version: curation.embeddings.files), and FAISS indexes stay loaded in
a small per-process cache keyed by their checksum. Errors are ApplicationErrors with stable codes:
not_ready (409), not_embedded (404), encoder_mismatch (400), no_text_tower (400),
weights_unavailable (503), corrupt_embeddings (409), embeddings_missing (409).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.db.models import QuerySet

from core.api_errors import ApplicationError
from curation.embeddings.encoders import EncoderUnavailable, encoder_load
from curation.embeddings.files import CorruptEmbeddingFile, storage_local_path
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus

if TYPE_CHECKING:  # torch and FAISS load when a set is searched, not when the URLconf is imported
    from curation.ml.similarity import FaissIndex

DEFAULT_NEIGHBOURS = 12
MAX_NEIGHBOURS = 200
INDEX_CACHE_SIZE = 2  # a 1M x 512 index holds 2 GB of float32 vectors

_index_cache: OrderedDict[tuple[int, str], FaissIndex] = OrderedDict()
_index_lock = threading.Lock()


@dataclass(frozen=True)
class EmbeddingArrays:
    embeddings: np.ndarray  # float16 (rows, dim), memory-mapped read-only
    row_ids: np.ndarray  # int64 (rows,), sorted sample ids

    def row_of(self, sample_id: int) -> int | None:
        row = int(np.searchsorted(self.row_ids, sample_id))
        return row if row < len(self.row_ids) and self.row_ids[row] == sample_id else None


@dataclass(frozen=True)
class Neighbour:
    sample_id: int
    score: float  # cosine similarity


def embedding_set_list(
    *, dataset_id: int | None = None, version_id: int | None = None, status: str | None = None
) -> QuerySet[EmbeddingSet]:
    """Embedding sets, newest first, optionally of one dataset / version / status."""
    sets = EmbeddingSet.objects.select_related("dataset", "version", "job").order_by("-id")
    if dataset_id is not None:
        sets = sets.filter(dataset_id=dataset_id)
    if version_id is not None:
        sets = sets.filter(version_id=version_id)
    if status:
        sets = sets.filter(status=status)
    return sets


def embedding_set_get(embedding_set_id: int) -> EmbeddingSet | None:
    return embedding_set_list().filter(pk=embedding_set_id).first()


def embedding_set_latest_ready(*, version_id: int) -> EmbeddingSet | None:
    """The version's newest ready set (what "more like this" uses by default)."""
    return embedding_set_list(version_id=version_id, status=EmbeddingSetStatus.READY).first()


def _require_ready(embedding_set: EmbeddingSet) -> None:
    if embedding_set.status != EmbeddingSetStatus.READY:
        message = f"embedding set {embedding_set.pk} is {embedding_set.status}, not ready"
        raise ApplicationError(message, code="not_ready", status_code=409)


def _corrupt(exc: Exception) -> ApplicationError:
    """A file that fails its checksum, or is gone from storage: the set must be embedded again."""
    if isinstance(exc, FileNotFoundError):
        return ApplicationError(f"{exc}; embed the version again", code="embeddings_missing", status_code=409)
    return ApplicationError(str(exc), code="corrupt_embeddings", status_code=409)


def embedding_set_arrays(embedding_set: EmbeddingSet) -> EmbeddingArrays:
    """The set's embeddings (memory-mapped) and row ids, after checking both files' checksums.

    Raises CorruptEmbeddingFile when a file does not match its checksum, FileNotFoundError when it is gone.
    """
    _require_ready(embedding_set)
    embeddings_path = storage_local_path(embedding_set.embeddings_key, sha256=embedding_set.checksum)
    row_ids_path = storage_local_path(embedding_set.row_ids_key, sha256=embedding_set.row_ids_checksum)
    # Not cached: the checksum check is re-done whenever a file's size or mtime changes (files.py).
    return EmbeddingArrays(
        embeddings=np.load(embeddings_path, mmap_mode="r"), row_ids=np.asarray(np.load(row_ids_path))
    )


def embedding_set_index(embedding_set: EmbeddingSet) -> FaissIndex:
    """The set's FAISS index (ids = sample ids), loaded once per process and checksum."""
    _require_ready(embedding_set)
    key = (embedding_set.pk, embedding_set.index_checksum)
    with _index_lock:
        if key in _index_cache:
            _index_cache.move_to_end(key)
            return _index_cache[key]
    path = storage_local_path(embedding_set.index_key, sha256=embedding_set.index_checksum)
    from curation.ml.similarity import FaissIndex  # noqa: PLC0415 - faiss: loaded on first use, not at start-up

    index = FaissIndex.load(path)
    with _index_lock:
        _index_cache[key] = index
        while len(_index_cache) > INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return index


def encoders_match(first: EmbeddingSet, second: EmbeddingSet) -> bool:
    """Whether vectors of the two sets live in the same space (same encoder name and width)."""
    return (first.encoder_name, first.dim) == (second.encoder_name, second.dim)


def sample_similar(
    *, embedding_set: EmbeddingSet, sample_id: int, k: int = DEFAULT_NEIGHBOURS, query_set: EmbeddingSet | None = None
) -> list[Neighbour]:
    """The ``k`` samples of ``embedding_set`` most similar to ``sample_id``, best first, itself left out.

    query_set: the set the sample's own vector is read from (default ``embedding_set``), e.g. a set of
    another version; it must come from the same encoder (code encoder_mismatch otherwise).
    """
    query_set = query_set or embedding_set
    if not encoders_match(query_set, embedding_set):
        raise ApplicationError(
            f"embedding set {query_set.pk} comes from {query_set.encoder_name} ({query_set.dim}-d) and set "
            f"{embedding_set.pk} from {embedding_set.encoder_name} ({embedding_set.dim}-d): their vectors cannot "
            "be compared; use sets made by the same encoder",
            code="encoder_mismatch",
        )
    k = max(1, min(k, MAX_NEIGHBOURS))
    try:
        arrays = embedding_set_arrays(query_set)
        index = embedding_set_index(embedding_set)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise _corrupt(exc)
    row = arrays.row_of(sample_id)
    if row is None:
        message = f"sample {sample_id} has no embedding in set {query_set.pk}"
        raise ApplicationError(message, code="not_embedded", status_code=404)
    scores, ids = index.search(np.asarray(arrays.embeddings[row : row + 1], dtype=np.float32), k + 1)
    found = [Neighbour(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and i != sample_id]
    return found[:k]


def text_search(*, embedding_set: EmbeddingSet, text: str, k: int = DEFAULT_NEIGHBOURS) -> list[Neighbour]:
    """The ``k`` samples whose images best match ``text``, best first (encoders with a text tower only)."""
    _require_ready(embedding_set)
    text = " ".join(text.split())
    if not text:
        raise ApplicationError("the search text is empty", code="invalid")
    if not embedding_set.has_text_tower:
        raise ApplicationError(
            f"{embedding_set.encoder_name} embeds images only (no text tower): search by text needs an open_clip set",
            code="no_text_tower",
        )

    try:
        encoder = encoder_load(embedding_set.encoder_name)
    except EncoderUnavailable as exc:
        raise ApplicationError(str(exc), code="weights_unavailable", status_code=503)
    query = encoder.encode_texts([text]).cpu().numpy()
    try:
        index = embedding_set_index(embedding_set)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise _corrupt(exc)
    scores, ids = index.search(query, max(1, min(k, MAX_NEIGHBOURS)))
    return [Neighbour(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
