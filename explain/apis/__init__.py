"""REST API of explanation runs: views.py (the run kit's list, start and detail, a run's samples and
raw maps), serializers.py."""
