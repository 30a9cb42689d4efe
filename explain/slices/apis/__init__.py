"""REST API of failure-slice reports: views.py (the run kit's list, start and detail, re-scoring), serializers.py."""
