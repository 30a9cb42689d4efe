"""Grad-CAM runs and spurious-feature reports: arrive with the "Grad-CAM explanations" issue."""
