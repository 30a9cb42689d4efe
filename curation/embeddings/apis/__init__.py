"""REST API of the embeddings app (docs/ARCHITECTURE.md §8): one view per operation, explicit serializers."""
