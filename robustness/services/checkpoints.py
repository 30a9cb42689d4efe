"""Checkpoints in Django's storage (never hand-built paths), and loading a trained model from them."""

from __future__ import annotations

from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from core.storage import blob_delete, blob_open
from robustness.ml.checkpoints import checkpoint_read, classifier_from_checkpoint
from robustness.ml.models import Classifier
from robustness.ml.preprocessing import Preprocessing
from robustness.models import TrainedModel

CHECKPOINT_PREFIX = "checkpoints/training-runs"


def checkpoint_store(*, run_id: int, name: str, local_path: Path) -> str:
    """Upload a checkpoint file as ``checkpoints/training-runs/<run>/<name>.pt``; returns the key it got.

    The storage picks another name when one exists (a file a killed attempt left), so a key
    recorded on a row always names a complete file.
    """
    with local_path.open("rb") as handle:
        return default_storage.save(f"{CHECKPOINT_PREFIX}/{run_id}/{name}.pt", File(handle))


def checkpoint_keys_of_run(run_id: int) -> list[str]:
    """Every file stored under the run's checkpoint folder (referenced or not)."""
    folder = f"{CHECKPOINT_PREFIX}/{run_id}"
    if not default_storage.exists(folder):
        return []
    _, files = default_storage.listdir(folder)
    return sorted(f"{folder}/{name}" for name in files)


def checkpoint_delete_unreferenced(*, run_id: int, keep: set[str]) -> list[str]:
    """Delete the run's checkpoint files other than ``keep``; returns the deleted keys."""
    deleted = [key for key in checkpoint_keys_of_run(run_id) if key not in keep]
    for key in deleted:
        blob_delete(key)
    return deleted


def load_trained_model(
    trained_model: TrainedModel, *, checkpoint: str = "best"
) -> tuple[Classifier, list[str], Preprocessing]:
    """The trained classifier (eval mode, on CPU), its classes in output order, and its preprocessing.

    Args:
        trained_model: the row whose checkpoint to load.
        checkpoint: "best" (default, the best validation epoch) or "last".

    The classifier takes pixels in [0, 1] of shape (N, 3, img_size, img_size) and normalizes them
    itself; ``preprocessing.pixels(pil_image)`` makes one such image. Raises CheckpointInvalid when
    the file is not a checkpoint of this architecture.
    """
    key = trained_model.checkpoint_best_key if checkpoint == "best" else trained_model.checkpoint_last_key
    with blob_open(key) as handle:
        state = checkpoint_read(handle.read())
    return classifier_from_checkpoint(state)
