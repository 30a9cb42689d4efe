"""Trained models, training and evaluation runs: arrive with the "Training and evaluation" issue."""
