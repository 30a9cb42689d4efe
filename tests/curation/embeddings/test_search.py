"""More like this and text-to-image search over a ready set, against a brute-force reference; bad input."""

import itertools

import numpy as np
import pytest

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import embedding_set_arrays, sample_similar, text_search
from curation.ml.encoders import create_encoder
from curation.ml.similarity import BruteForceIndex
from tests.curation.embeddings.conftest import embed, media_path


def brute_force_neighbours(embedding_set, query, k):
    arrays = embedding_set_arrays(embedding_set)
    reference = BruteForceIndex(arrays.embeddings.shape[1])
    reference.add(np.asarray(arrays.embeddings, dtype=np.float32), arrays.row_ids)
    scores, ids = reference.search(query, k)
    return ids[0].tolist(), scores[0]


def test_more_like_this_matches_brute_force_and_leaves_the_sample_out(make_version, encoder_name):
    embedding_set = embed(make_version(9), encoder_name, chunk_size=4)
    arrays = embedding_set_arrays(embedding_set)
    sample_id = int(arrays.row_ids[3])

    found = sample_similar(embedding_set=embedding_set, sample_id=sample_id, k=4)

    ids, scores = brute_force_neighbours(embedding_set, np.asarray(arrays.embeddings[3:4], np.float32), 5)
    assert ids[0] == sample_id
    assert [n.sample_id for n in found] == ids[1:]
    np.testing.assert_allclose([n.score for n in found], scores[1:], atol=1e-5)
    assert all(a.score >= b.score for a, b in itertools.pairwise(found))


def test_more_like_this_reads_the_query_from_another_version_of_the_same_encoder(make_version, encoder_name):
    first = embed(make_version(3), encoder_name)
    second = embed(make_version(4, seed_offset=100), encoder_name)
    sample_id = int(embedding_set_arrays(first).row_ids[0])

    found = sample_similar(embedding_set=second, sample_id=sample_id, k=2, query_set=first)

    assert len(found) == 2
    assert {n.sample_id for n in found} <= set(embedding_set_arrays(second).row_ids.tolist())


def test_neighbours_with_a_set_from_another_encoder_are_refused(make_version, encoder_name, other_encoder_name):
    version = make_version(3)
    mine, theirs = embed(version, encoder_name), embed(version, other_encoder_name)
    sample_id = int(embedding_set_arrays(mine).row_ids[0])

    with pytest.raises(ApplicationError) as refused:
        sample_similar(embedding_set=theirs, sample_id=sample_id, query_set=mine)

    assert refused.value.code == "encoder_mismatch"
    assert refused.value.message == (
        f"embedding set {mine.pk} comes from {encoder_name} (16-d) and set {theirs.pk} from {other_encoder_name} "
        "(16-d): their vectors cannot be compared; use sets made by the same encoder"
    )


def test_a_corrupt_npy_is_detected_by_its_checksum(make_version, encoder_name, settings):
    embedding_set = embed(make_version(3), encoder_name)
    sample_id = int(embedding_set_arrays(embedding_set).row_ids[0])
    path = media_path(settings, embedding_set.embeddings_key)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte in the last embedding
    path.write_bytes(bytes(data))

    with pytest.raises(ApplicationError) as refused:
        sample_similar(embedding_set=embedding_set, sample_id=sample_id)

    assert refused.value.code == "corrupt_embeddings"
    assert refused.value.message.startswith(f"{embedding_set.embeddings_key} is corrupt: its sha256 is ")
    assert refused.value.message.endswith("recorded when it was written; embed the version again")


def test_a_sample_outside_the_set_and_a_set_not_ready_are_refused(make_version, encoder_name):
    embedding_set = embed(make_version(2), encoder_name)
    pending = EmbeddingSet.objects.create(
        dataset=embedding_set.dataset, version=embedding_set.version, encoder_name=encoder_name
    )

    with pytest.raises(ApplicationError) as outside:
        sample_similar(embedding_set=embedding_set, sample_id=10**9)
    with pytest.raises(ApplicationError) as not_ready:
        sample_similar(embedding_set=pending, sample_id=10**9)

    assert (outside.value.code, outside.value.status_code) == ("not_embedded", 404)
    assert (not_ready.value.code, not_ready.value.status_code) == ("not_ready", 409)
    assert not_ready.value.message == f"embedding set {pending.pk} is embedding, not ready"


def test_text_search_ranks_images_by_the_text_towers_query_like_brute_force(make_version, encoder_name):
    embedding_set = embed(make_version(6), encoder_name)
    query = create_encoder(encoder_name).encode_texts(["a photo of a cat"]).numpy()

    found = text_search(embedding_set=embedding_set, text="  a photo   of a cat ", k=3)

    ids, scores = brute_force_neighbours(embedding_set, query, 3)
    assert [n.sample_id for n in found] == ids
    np.testing.assert_allclose([n.score for n in found], scores, atol=1e-5)


def test_text_search_needs_a_text_tower(make_version, encoder_name):
    embedding_set = embed(make_version(1), encoder_name)
    image_only = EmbeddingSet.objects.create(
        dataset=embedding_set.dataset,
        version=embedding_set.version,
        encoder_name="efficientnet-lite0",
        encoder_spec={"name": "efficientnet-lite0", "has_text_tower": False},
        status=EmbeddingSetStatus.READY,
    )

    with pytest.raises(ApplicationError) as refused:
        text_search(embedding_set=image_only, text="a cat")

    assert refused.value.code == "no_text_tower"
    assert refused.value.message.startswith("efficientnet-lite0 embeds images only (no text tower)")


def test_a_set_larger_than_the_flat_limit_gets_an_ivf_index_that_agrees_with_brute_force(
    make_version, encoder_name, settings
):
    settings.EMBEDDING_FLAT_INDEX_MAX = 5
    embedding_set = embed(make_version(8), encoder_name)
    arrays = embedding_set_arrays(embedding_set)

    found = sample_similar(embedding_set=embedding_set, sample_id=int(arrays.row_ids[0]), k=3)

    ids, scores = brute_force_neighbours(embedding_set, np.asarray(arrays.embeddings[0:1], np.float32), 4)
    assert embedding_set.index_kind == "ivf"
    assert [n.sample_id for n in found] == ids[1:]  # one list at this size: IVF is exact here
    np.testing.assert_allclose([n.score for n in found], scores[1:], atol=1e-5)
