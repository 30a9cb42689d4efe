"""REST API of evaluation runs: views.py (the run kit's list, start and detail), serializers.py."""
