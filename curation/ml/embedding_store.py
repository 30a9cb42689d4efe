"""On-disk embeddings: a float16 ``.npy`` (rows x dim) and an int64 row -> id ``.npy`` in one folder.

Both are opened with ``np.lib.format.open_memmap``, so chunk tasks in different processes (or machines
sharing a POSIX volume) fill disjoint row ranges of the same files. A chunk is marked done only after
its rows are flushed, which makes a run resumable per chunk; rewriting a chunk replaces it whole
(rows it no longer fills go back to MISSING_ID), so a chunk that runs twice does no harm.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from curation.ml.encoder_registry import EncoderSpec

EMBEDDINGS_FILE = "embeddings.npy"
ROW_IDS_FILE = "row_ids.npy"
SPEC_FILE = "encoder.json"
CHUNKS_DIR = "chunks"
MISSING_ID = -1  # a planned row whose image could not be embedded (or was not yet)


class EmbeddingWriter:
    """Rows of embeddings written chunk by chunk. Build with ``create`` (once) or ``open`` (any process)."""

    def __init__(self, folder: Path, embeddings: np.memmap, row_ids: np.memmap) -> None:
        self.folder = folder
        self.embeddings = embeddings
        self.row_ids = row_ids

    @classmethod
    def create(
        cls, folder: str | Path, *, num_rows: int, dim: int, spec: EncoderSpec | None = None, exist_ok: bool = False
    ) -> EmbeddingWriter:
        """Allocate ``num_rows`` x ``dim`` float16 rows (zeros, ids MISSING_ID) and store ``spec`` beside them.

        exist_ok: open the existing files instead when they have this shape (a start step that runs twice).
        """
        folder = Path(folder)
        if (folder / EMBEDDINGS_FILE).exists():
            if not exist_ok:
                raise FileExistsError(f"embeddings already exist in {folder}")
            writer = cls.open(folder)
            if writer.embeddings.shape != (num_rows, dim):
                raise ValueError(f"{folder} holds {writer.embeddings.shape} embeddings, not {(num_rows, dim)}")
            return writer
        (folder / CHUNKS_DIR).mkdir(parents=True, exist_ok=True)
        if spec is not None:
            _write_atomically(folder / SPEC_FILE, json.dumps(spec.to_dict(), indent=2).encode())
        row_ids = np.lib.format.open_memmap(folder / ROW_IDS_FILE, mode="w+", dtype=np.int64, shape=(num_rows,))
        row_ids[:] = MISSING_ID
        row_ids.flush()
        embeddings = np.lib.format.open_memmap(
            folder / EMBEDDINGS_FILE, mode="w+", dtype=np.float16, shape=(num_rows, dim)
        )
        return cls(folder, embeddings, row_ids)

    @classmethod
    def open(cls, folder: str | Path) -> EmbeddingWriter:
        folder = Path(folder)
        embeddings = np.lib.format.open_memmap(folder / EMBEDDINGS_FILE, mode="r+")
        row_ids = np.lib.format.open_memmap(folder / ROW_IDS_FILE, mode="r+")
        return cls(folder, embeddings, row_ids)

    @property
    def num_rows(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def spec(self) -> EncoderSpec | None:
        path = self.folder / SPEC_FILE
        return EncoderSpec.from_dict(json.loads(path.read_text())) if path.exists() else None

    def write_chunk(self, start: int, stop: int, ids: np.ndarray, embeddings: np.ndarray) -> None:
        """Make rows [start, stop) hold ``ids``/``embeddings`` (len(ids) <= stop - start; the rest MISSING_ID)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not 0 <= start <= stop <= self.num_rows:
            raise ValueError(f"chunk [{start}, {stop}) is outside rows [0, {self.num_rows})")
        if len(ids) > stop - start or embeddings.shape != (len(ids), self.dim):
            raise ValueError(f"chunk [{start}, {stop}) cannot hold {len(ids)} ids and embeddings {embeddings.shape}")
        marker = self._marker(start, stop)
        marker.unlink(missing_ok=True)  # a crash during the rewrite must not leave the chunk marked done
        end = start + len(ids)
        self.embeddings[start:end] = embeddings.astype(np.float16, copy=False)
        self.embeddings[end:stop] = 0
        self.row_ids[start:end] = ids
        self.row_ids[end:stop] = MISSING_ID
        self.embeddings.flush()
        self.row_ids.flush()
        _write_atomically(marker, f"{len(ids)}\n".encode())

    def chunk_done(self, start: int, stop: int) -> bool:
        return self._marker(start, stop).exists()

    def done_chunks(self) -> list[tuple[int, int]]:
        names = (path.stem.split("-") for path in (self.folder / CHUNKS_DIR).glob("*.done"))
        return sorted((int(start), int(stop)) for start, stop in names)

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float16 embeddings) of the rows that hold an embedding, in row order (copied into memory)."""
        filled = np.flatnonzero(np.asarray(self.row_ids) != MISSING_ID)
        return np.asarray(self.row_ids[filled]), np.asarray(self.embeddings[filled])

    def _marker(self, start: int, stop: int) -> Path:
        return self.folder / CHUNKS_DIR / f"{start:012d}-{stop:012d}.done"


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
