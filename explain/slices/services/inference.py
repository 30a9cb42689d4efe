"""What both slice jobs need from a trained model: its held-out set decoded at its size, predictions and
penultimate features. torch is imported inside the functions: the API and pages import the services."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from jobs.runtime import JobContext, JobFailed
from robustness.evaluation.services.dataset import EvaluationSet, evaluation_classes_check, evaluation_set_load
from robustness.models import TrainedModel


@dataclass
class ModelOutputs:
    evaluation_set: EvaluationSet
    predictions: np.ndarray  # (n,) int64 class indices in the model's order
    features: np.ndarray  # (n, d) float32 penultimate features
    log_probabilities: np.ndarray  # (n, classes) float32 log-softmax of the logits

    def true_class_losses(self) -> np.ndarray:
        """Cross-entropy of each sample on its true class."""
        targets = self.evaluation_set.targets
        return -self.log_probabilities[np.arange(targets.size), targets].astype(np.float64)


def classes_or_fail(*, version: DatasetVersion, split: str, classes: list[str]) -> None:
    try:
        evaluation_classes_check(version=version, split=split, classes=classes)
    except ApplicationError as error:
        raise JobFailed(error.message)


def model_outputs(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    split: str,
    params: dict[str, Any],
    ctx: JobContext,
) -> ModelOutputs:
    """Load the model, decode the split's labelled members (the seeded subset of params' max_samples), run it once.

    Progress: decoding is step 0 of 1 with a message; a cancel takes effect after each batch.
    """
    from robustness.ml.checkpoints import CheckpointInvalid  # noqa: PLC0415 - torch: loaded on first use, not at start-up
    from robustness.ml.devices import device_describe, device_resolve  # noqa: PLC0415 - torch: loaded on first use, not at start-up
    from robustness.ml.models import WeightsUnavailable  # noqa: PLC0415 - torch: loaded on first use, not at start-up
    from robustness.services import load_trained_model  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    try:
        model, classes, preprocessing = load_trained_model(trained_model)
    except (CheckpointInvalid, WeightsUnavailable, FileNotFoundError) as error:
        raise JobFailed(f"cannot load model {trained_model.name!r}: {error}")
    classes_or_fail(version=version, split=split, classes=classes)
    try:
        device = device_resolve(params.get("device", "auto"))
    except ValueError as error:
        raise JobFailed(str(error))
    ctx.log(f"model {trained_model.name} on {device_describe(device)}")
    evaluation_set = evaluation_set_load(
        version=version, split=split, classes=classes, preprocessing=preprocessing,
        max_samples=params.get("max_samples"), seed=params.get("seed", 0),
        progress=lambda done, total: ctx.progress(0, 1, f"decoding images: {done} of {total}"),
    )  # fmt: skip
    predictions, features, log_probabilities = features_and_predictions(
        model.to(device).eval(), evaluation_set.images, device=device, batch_size=params.get("batch_size", 64),
        on_batch=ctx.check_cancelled,
    )  # fmt: skip
    return ModelOutputs(evaluation_set, predictions, features, log_probabilities)


def features_and_predictions(
    model: Any, images: np.ndarray, *, device: Any, batch_size: int, on_batch: Callable[[], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted class (argmax of the logits), penultimate features and log-softmax of uint8 N×H×W×3 images."""
    import torch  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    from robustness.evaluation.services.inference import pixels_from_uint8  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    predictions, features, log_probabilities = [], [], []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            pooled = model.features(pixels_from_uint8(images[start : start + batch_size], device))
            logits = model.head(pooled).float()
            predictions.append(logits.argmax(dim=1).cpu().numpy())
            log_probabilities.append(torch.log_softmax(logits, dim=1).cpu().numpy())
            features.append(pooled.float().flatten(1).cpu().numpy())
            if on_batch is not None:
                on_batch()
    if not predictions:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(predictions).astype(np.int64), np.concatenate(features), np.concatenate(log_probabilities)
