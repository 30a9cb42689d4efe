"""REST API of spurious-feature reports: views.py (the run kit's list, start and detail), serializers.py."""
