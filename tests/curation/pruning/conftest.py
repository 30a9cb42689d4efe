import numpy as np
import pytest

from curation.ml.clustering import l2_normalize
from tests.curation.pruning.factories import clustered_vectors, embedding_set_create, version_with_samples


@pytest.fixture
def small_version(db):
    """60 samples in 3 clusters of 20 (labels cat/dog/fox cycled, splits train/val), with an embedding
    set in which samples 5 and 6 are exact copies of sample 4, and sample 30 a near copy of 31."""
    version = version_with_samples(60, labels=["cat", "dog", "fox"], splits=["train", "train", "val"])
    vectors, _ = clustered_vectors([20, 20, 20], d=16, spread=[0.6, 0.6, 0.6], seed=1)
    vectors[5] = vectors[4]
    vectors[6] = vectors[4]
    vectors[30] = l2_normalize(vectors[31:32] + 0.01 * np.random.default_rng(2).standard_normal((1, 16)))[0]
    embedding_set = embedding_set_create(version=version, vectors=vectors)
    return version, embedding_set, vectors
