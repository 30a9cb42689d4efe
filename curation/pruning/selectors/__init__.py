"""Reads of clusters, prune runs and version diffs, and the plotly figures of their pages.

clusters.py (runs, cluster tables, galleries by distance to the centroid, cluster filters and map
colours), pruning.py (runs, budgets, eps sweep, the preview of what goes), diff.py (versions compared).
"""
