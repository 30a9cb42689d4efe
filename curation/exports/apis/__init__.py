"""REST API of exports (docs/ARCHITECTURE.md §8): views.py (one view per operation), serializers.py."""
