"""Synthetic batches and images (DESIGN.md §4): arrive with the "Synthetic counter-examples" issue."""
