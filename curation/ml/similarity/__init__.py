"""Cosine-similarity search: ``FaissIndex`` in production, ``BruteForceIndex`` as its reference."""

from curation.ml.similarity.base import DuplicateGroup, SimilarityIndex, duplicate_groups, normalized_rows
from curation.ml.similarity.brute_force import BruteForceIndex
from curation.ml.similarity.faiss_index import FaissIndex

__all__ = [
    "BruteForceIndex",
    "DuplicateGroup",
    "FaissIndex",
    "SimilarityIndex",
    "duplicate_groups",
    "normalized_rows",
]
