"""REST API of the embeddings app (DESIGN.md §8): one view per operation, explicit serializers."""
