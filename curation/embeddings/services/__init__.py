"""Writes of the embeddings app: embedding jobs and their chunks, duplicates, maps."""
