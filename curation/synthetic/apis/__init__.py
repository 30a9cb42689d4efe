"""REST API of synthetic batches: views.py (one view per operation), serializers.py."""
