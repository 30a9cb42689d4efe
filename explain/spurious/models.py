"""Spurious-feature reports (METHODS.md §9): arrive with the "Grad-CAM explanations" issue."""
