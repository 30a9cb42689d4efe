"""Checkpoint files: a classifier's weights and what is needed to rebuild it, plus (for "last"
checkpoints) the full training state to resume from.

A checkpoint is a ``torch.save`` dict of tensors, numbers, strings and lists only, so it loads with
``weights_only=True`` (no pickled code runs when a checkpoint is read).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

import torch

from robustness.ml.models import Classifier, create_model
from robustness.ml.preprocessing import Preprocessing

CHECKPOINT_FORMAT = 1


class CheckpointInvalid(ValueError):
    """The file is not a Winnow checkpoint, or does not match its architecture."""


def checkpoint_build(
    *,
    model: Classifier,
    arch: str,
    classes: list[str],
    img_size: int,
    epoch: int,
    training_state: dict | None = None,
    model_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict of ``model`` after ``epoch`` epochs; ``training_state`` makes it resumable.

    ``model_options`` are the keyword arguments ``create_model`` built it with (e.g. a width).
    """
    return {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "model_options": dict(model_options or {}),
        "classes": list(classes),
        "img_size": img_size,
        "mean": list(model.spec.mean),
        "std": list(model.spec.std),
        "epoch": epoch,
        "model": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "training_state": training_state,
    }


def checkpoint_write(checkpoint: dict[str, Any], path: Path) -> None:
    """Write to ``path`` through a temporary name, so a killed writer never leaves a half file under it."""
    partial = path.with_name(path.name + ".partial")
    torch.save(checkpoint, partial)
    partial.replace(path)


def checkpoint_read(source: Path | IO[bytes] | bytes) -> dict[str, Any]:
    """Read a checkpoint (tensors on CPU) from a path, an open binary file or bytes."""
    handle: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        checkpoint = torch.load(handle, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointInvalid(f"not a readable checkpoint: {error}") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointInvalid("not a Winnow checkpoint (format marker missing)")
    return checkpoint


def classifier_from_checkpoint(checkpoint: dict[str, Any]) -> tuple[Classifier, list[str], Preprocessing]:
    """Rebuild the classifier (eval mode, CPU) with its classes and preprocessing."""
    classes = list(checkpoint["classes"])
    model = create_model(checkpoint["arch"], len(classes), pretrained=False, **checkpoint.get("model_options", {}))
    try:
        model.load_state_dict(checkpoint["model"], strict=True)
    except RuntimeError as error:
        raise CheckpointInvalid(f"checkpoint does not fit {checkpoint['arch']}: {error}") from error
    preprocessing = Preprocessing(
        img_size=int(checkpoint["img_size"]), mean=tuple(checkpoint["mean"]), std=tuple(checkpoint["std"])
    )
    return model.eval(), classes, preprocessing
