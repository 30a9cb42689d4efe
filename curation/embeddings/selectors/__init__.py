"""Reads of the embeddings app: sets and search (sets.py), duplicate runs (duplicates.py), maps (maps.py)."""

from curation.embeddings.selectors.sets import (
    DEFAULT_NEIGHBOURS,
    MAX_NEIGHBOURS,
    EmbeddingArrays,
    Neighbour,
    embedding_set_arrays,
    embedding_set_get,
    embedding_set_index,
    embedding_set_latest_ready,
    embedding_set_list,
    encoders_match,
    sample_similar,
    text_search,
)

__all__ = [
    "DEFAULT_NEIGHBOURS",
    "MAX_NEIGHBOURS",
    "EmbeddingArrays",
    "Neighbour",
    "embedding_set_arrays",
    "embedding_set_get",
    "embedding_set_index",
    "embedding_set_latest_ready",
    "embedding_set_list",
    "encoders_match",
    "sample_similar",
    "text_search",
]
