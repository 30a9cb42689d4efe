"""REST API of training (views.py: start a run, list and read runs and trained models; serializers.py)."""
