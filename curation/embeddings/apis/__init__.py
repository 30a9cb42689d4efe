"""REST API of the embeddings app (docs/ARCHITECTURE.md §8): views.py (embedding sets, neighbours and text search,
duplicate runs and their groups, embedding maps; one view per operation) and serializers.py (their explicit input
and output serializers)."""
