"""Embeddings, similarity search, duplicates and the embedding map."""
