"""Clusters and pruning runs."""
