"""REST API of mask sets (issue #16): views.py (start an estimation, list a version's sets), serializers.py."""
