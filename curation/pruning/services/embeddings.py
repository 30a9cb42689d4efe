"""A version's embeddings for clustering and pruning, streamed from an embedding set's memory-mapped file.

An embedding set may belong to another version: what matters is that its rows cover every member
of the version being pruned (a pruned child version reuses its parent's embeddings). Rows are read
in batches in file order from the float16 memory map, normalised into one float32 array in the
members' sample-id order (what the ML core takes), and the map's pages are released after each
batch so that the file does not count towards the process's resident memory.
"""

from __future__ import annotations

import mmap
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.api_errors import ApplicationError
from curation.embeddings.files import CorruptEmbeddingFile, storage_local_path
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.models import DatasetVersion, VersionSample

READ_BATCH_ROWS = 65_536
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, eq=False)
class VersionEmbeddings:
    """The members of a version and their unit-norm embeddings, row i for sample_ids[i]."""

    sample_ids: np.ndarray  # (n,) int64, ascending
    vectors: np.ndarray  # (n, d) float32, C-contiguous, unit rows
    seconds: float = 0.0


def version_member_ids(version: DatasetVersion) -> np.ndarray:
    """The version's sample ids, ascending, as int64."""
    ids = VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True)
    return np.fromiter(ids.iterator(chunk_size=50_000), dtype=np.int64)


def embedding_files_open(embedding_set: EmbeddingSet) -> tuple[np.ndarray, np.ndarray]:
    """(row sample ids int64, float16 (rows, dim) memory map) of an embedding set, checksums verified.

    What the embeddings app's `embedding_set_arrays` does, through its torch-free files module: the
    selectors module imports torch and FAISS, 0.75 GB a prune job does not need. A corrupt or
    missing file becomes ApplicationError `corrupt_embeddings`.
    """
    try:
        embeddings_path = storage_local_path(embedding_set.embeddings_key, sha256=embedding_set.checksum)
        row_ids_path = storage_local_path(embedding_set.row_ids_key, sha256=embedding_set.row_ids_checksum)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise ApplicationError(str(exc), code="corrupt_embeddings", status_code=409)
    return np.asarray(np.load(row_ids_path), dtype=np.int64), np.load(embeddings_path, mmap_mode="r")


def embedding_rows_for(
    *, version: DatasetVersion, embedding_set: EmbeddingSet, member_ids: np.ndarray, row_ids: np.ndarray
) -> np.ndarray:
    """Row of the embedding file for each member; ApplicationError `embeddings_mismatch` if any is missing."""
    order = np.argsort(row_ids, kind="stable")
    sorted_ids = row_ids[order]
    position = np.minimum(np.searchsorted(sorted_ids, member_ids), max(sorted_ids.size - 1, 0))
    found = sorted_ids[position] == member_ids if sorted_ids.size else np.zeros(member_ids.size, dtype=bool)
    missing = int(member_ids.size - np.count_nonzero(found))
    if missing:
        raise ApplicationError(
            f"Embedding set {embedding_set.pk} (of version {embedding_set.version_id}) has no embedding for "
            f"{missing} of the {member_ids.size} samples of version {version.pk}; embed this version first.",
            code="embeddings_mismatch",
            details={"missing": missing, "members": int(member_ids.size)},
        )
    return order[position]


def embedding_set_check(*, version: DatasetVersion, embedding_set: EmbeddingSet) -> None:
    """Refuse a set that is not ready or belongs to another dataset (before any file is opened)."""
    if embedding_set.status != EmbeddingSetStatus.READY:
        raise ApplicationError(
            f"Embedding set {embedding_set.pk} is {embedding_set.status}, not ready.", code="embeddings_not_ready"
        )
    if embedding_set.dataset_id != version.dataset_id:
        raise ApplicationError(
            f"Embedding set {embedding_set.pk} belongs to another dataset than version {version.pk}.",
            code="embeddings_mismatch",
        )


def embedding_coverage_check(*, version: DatasetVersion, embedding_set: EmbeddingSet) -> None:
    """Everything `version_embeddings_load` refuses, found without reading the embeddings themselves."""
    embedding_set_check(version=version, embedding_set=embedding_set)
    row_ids, _ = embedding_files_open(embedding_set)
    embedding_rows_for(
        version=version, embedding_set=embedding_set, member_ids=version_member_ids(version), row_ids=row_ids
    )


def version_embeddings_load(
    *,
    version: DatasetVersion,
    embedding_set: EmbeddingSet,
    batch_rows: int = READ_BATCH_ROWS,
    progress: Progress | None = None,
) -> VersionEmbeddings:
    """The version's members and their embeddings as float32 unit rows (see the module comment).

    Raises ApplicationError (`embeddings_not_ready`, `embeddings_mismatch`) when the set cannot serve.
    """
    started = time.perf_counter()
    embedding_set_check(version=version, embedding_set=embedding_set)
    row_ids, matrix = embedding_files_open(embedding_set)
    member_ids = version_member_ids(version)
    rows = embedding_rows_for(version=version, embedding_set=embedding_set, member_ids=member_ids, row_ids=row_ids)
    vectors = np.empty((member_ids.size, matrix.shape[1]), dtype=np.float32)
    in_file_order = bool(np.all(rows[1:] > rows[:-1]))
    file_order = np.arange(rows.size) if in_file_order else np.argsort(rows, kind="stable")  # read front to back
    for start in range(0, rows.size, batch_rows):
        positions = file_order[start : start + batch_rows]
        if in_file_order:  # convert straight into place: no float16 or float32 temporary of the batch
            block = vectors[start : start + positions.size]
            np.copyto(block, _rows_read(matrix, rows[positions]))
        else:
            block = _rows_read(matrix, rows[positions]).astype(np.float32)
        _normalize_rows(block)
        if not in_file_order:
            vectors[positions] = block
        _release_pages(matrix)
        if progress is not None:
            progress(min(start + batch_rows, rows.size), rows.size, "reading embeddings")
    return VersionEmbeddings(member_ids, vectors, time.perf_counter() - started)


def _normalize_rows(block: np.ndarray, chunk_rows: int = 4096) -> None:
    """Unit rows in place, as `l2_normalize` computes them, a cache-sized chunk at a time."""
    for start in range(0, block.shape[0], chunk_rows):
        chunk = block[start : start + chunk_rows]
        norms = np.linalg.norm(chunk, axis=1, keepdims=True)
        np.divide(chunk, norms, out=chunk, where=norms > 0)


def _rows_read(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if rows.size and rows[-1] - rows[0] == rows.size - 1:
        return np.asarray(matrix[rows[0] : rows[-1] + 1])  # consecutive rows: one sequential read
    return np.asarray(matrix[rows])


def _release_pages(matrix: np.ndarray) -> None:
    """Drop the memory map's pages from this process (they stay in the page cache)."""
    handle = getattr(matrix, "_mmap", None)
    if isinstance(handle, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)
