"""Training services: start a run, the training job, checkpoint storage, loading a trained model."""

from robustness.services.checkpoints import load_trained_model

__all__ = ["load_trained_model"]
