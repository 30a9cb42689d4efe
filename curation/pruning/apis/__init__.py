"""REST API of clusters and prune runs (docs/ARCHITECTURE.md §8): one view per operation, structured errors.

Starting a cluster or prune job and applying a run need the CURATE capability; reads need VIEW.
"""
