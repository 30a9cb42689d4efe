import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from curation.ml.embedding_store import MISSING_ID, EmbeddingWriter
from curation.ml.encoders import EncoderSpec

DIM = 8


def unit_rows(seed: int, count: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(start, stop, dtype=np.int64) * 10, unit_rows(start, stop - start)


SPEC = EncoderSpec(
    name="open_clip:ViT-B-32:laion2b_s34b_b79k",
    family="open_clip",
    arch="ViT-B-32",
    weights="laion2b_s34b_b79k",
    dim=DIM,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    input_size=(224, 224),
    has_text_tower=True,
)


def test_chunks_written_out_of_order_fill_their_own_rows(tmp_path: Path) -> None:
    writer = EmbeddingWriter.create(tmp_path, num_rows=10, dim=DIM, spec=SPEC)

    for start, stop in [(6, 10), (0, 3), (3, 6)]:
        writer.write_chunk(start, stop, *chunk(start, stop))

    ids, embeddings = EmbeddingWriter.open(tmp_path).read()
    assert ids.tolist() == list(range(0, 100, 10))
    assert embeddings.dtype == np.float16
    expected = np.concatenate([chunk(0, 3)[1], chunk(3, 6)[1], chunk(6, 10)[1]]).astype(np.float16)
    np.testing.assert_array_equal(embeddings, expected)
    assert writer.done_chunks() == [(0, 3), (3, 6), (6, 10)]
    assert writer.spec() == SPEC
    assert np.load(tmp_path / "embeddings.npy").shape == (10, DIM)


def test_rewriting_a_chunk_is_idempotent_and_a_shorter_rewrite_clears_stale_rows(tmp_path: Path) -> None:
    writer = EmbeddingWriter.create(tmp_path, num_rows=6, dim=DIM)
    writer.write_chunk(0, 3, *chunk(0, 3))
    writer.write_chunk(3, 6, *chunk(3, 6))
    before = np.array(writer.embeddings), np.array(writer.row_ids)

    writer.write_chunk(3, 6, *chunk(3, 6))

    np.testing.assert_array_equal(writer.embeddings, before[0])
    np.testing.assert_array_equal(writer.row_ids, before[1])

    ids, embeddings = chunk(3, 6)
    writer.write_chunk(3, 6, ids[:2], embeddings[:2])  # one image became unreadable on the rerun

    assert writer.row_ids.tolist() == [0, 10, 20, 30, 40, MISSING_ID]
    assert not writer.embeddings[5].any()
    assert writer.read()[0].tolist() == [0, 10, 20, 30, 40]


def test_a_chunk_that_does_not_fit_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    writer = EmbeddingWriter.create(tmp_path, num_rows=4, dim=DIM)

    with pytest.raises(ValueError, match="outside rows"):
        writer.write_chunk(2, 6, *chunk(2, 6))
    with pytest.raises(ValueError, match="cannot hold"):
        writer.write_chunk(0, 2, *chunk(0, 3))

    assert writer.row_ids.tolist() == [MISSING_ID] * 4
    assert not np.asarray(writer.embeddings).any()
    assert writer.done_chunks() == []


def test_only_completed_chunks_are_marked_done(tmp_path: Path) -> None:
    writer = EmbeddingWriter.create(tmp_path, num_rows=6, dim=DIM)

    writer.write_chunk(0, 3, *chunk(0, 3))

    assert writer.chunk_done(0, 3)
    assert not writer.chunk_done(3, 6)


def test_create_twice_reopens_the_same_shape_and_refuses_another(tmp_path: Path) -> None:
    EmbeddingWriter.create(tmp_path, num_rows=4, dim=DIM).write_chunk(0, 2, *chunk(0, 2))

    with pytest.raises(FileExistsError):
        EmbeddingWriter.create(tmp_path, num_rows=4, dim=DIM)
    with pytest.raises(ValueError, match="holds"):
        EmbeddingWriter.create(tmp_path, num_rows=5, dim=DIM, exist_ok=True)
    again = EmbeddingWriter.create(tmp_path, num_rows=4, dim=DIM, exist_ok=True)

    assert again.read()[0].tolist() == [0, 10]


def _write_chunk_in_another_process(folder: Path, start: int, stop: int) -> None:
    EmbeddingWriter.open(folder).write_chunk(start, stop, *chunk(start, stop))


def test_processes_writing_disjoint_chunks_fill_one_file(tmp_path: Path) -> None:
    EmbeddingWriter.create(tmp_path, num_rows=9, dim=DIM)  # odd row counts: chunks share memory pages
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_write_chunk_in_another_process, args=(tmp_path, start, stop))
        for start, stop in [(0, 3), (3, 5), (5, 9)]
    ]

    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    ids, embeddings = EmbeddingWriter.open(tmp_path).read()
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert ids.tolist() == list(range(0, 90, 10))
    expected = np.concatenate([chunk(0, 3)[1], chunk(3, 5)[1], chunk(5, 9)[1]]).astype(np.float16)
    np.testing.assert_array_equal(embeddings, expected)
