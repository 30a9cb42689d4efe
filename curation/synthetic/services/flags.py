"""Automatic flags: does a checker agree that a generated image shows its intended class?

Two checkers: a classifier trained in Winnow (each image classified at the model's input size), or CLIP
zero-shot through the encoder registry (an open_clip encoder with a text tower: the image's cosine
similarity to "a photo of a {class}" for every class of the dataset, softmax at CLIP's usual scale 100).
The flag records the checker, the predicted class and the probability of the intended class; the image is
`flagged` when the top class is not the intended one. A class the checker does not know cannot be checked
and is flagged with that reason. Flags only order and filter the review; a curator still decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.api_errors import ApplicationError
from curation.services.ingest import sample_image_open
from curation.synthetic.models import SyntheticBatch, SyntheticImage
from robustness.models import TrainedModel


def synthetic_batch_flag(*, batch: SyntheticBatch, trained_model_id: int, batch_size: int = 64) -> dict[str, Any]:
    """Flag every image of `batch` with `trained_model_id`'s agreement; returns counts (also stored on the batch)."""
    from robustness.services.checkpoints import load_trained_model  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    trained = TrainedModel.objects.filter(pk=trained_model_id).first()
    if trained is None:
        raise ApplicationError(f"Trained model {trained_model_id} does not exist.", code="not_found", status_code=404)
    model, classes, preprocessing = load_trained_model(trained)
    model.eval()

    def probabilities(pictures: list[Image.Image]) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(model(torch.stack([preprocessing.pixels(p) for p in pictures])).float(), dim=1).numpy()

    return _flags_store(batch, classes, f"model:{trained.pk}", probabilities, batch_size)


def synthetic_batch_flag_clip(
    *, batch: SyntheticBatch, encoder_name: str, prompt_template: str = "a photo of a {cls}", batch_size: int = 64
) -> dict[str, Any]:
    """Flag every image of `batch` with CLIP zero-shot over the dataset's classes; returns counts (stored too).

    Raises ApplicationError no_text_tower for an image-only encoder; WeightsUnavailable as create_encoder does.
    """
    from curation.ml.encoders import NoTextTower, create_encoder  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    encoder = create_encoder(encoder_name, device="cuda" if torch.cuda.is_available() else "cpu")
    classes = list(batch.version.dataset.classes) or sorted(set(batch.images.values_list("intended_class", flat=True)))
    try:
        texts = encoder.encode_texts([prompt_template.format(cls=c) for c in classes])
    except NoTextTower:
        raise ApplicationError(f"Encoder {encoder_name!r} has no text tower.", code="no_text_tower") from None

    def probabilities(pictures: list[Image.Image]) -> np.ndarray:
        pixels = torch.stack([encoder.preprocess(p) for p in pictures])
        return torch.softmax(100.0 * encoder.encode_images(pixels) @ texts.T, dim=1).cpu().numpy()

    return _flags_store(batch, classes, f"clip:{encoder_name}", probabilities, batch_size)


def _flags_store(
    batch: SyntheticBatch,
    classes: list[str],
    checker: str,
    probabilities: Callable[[list[Image.Image]], np.ndarray],
    batch_size: int,
) -> dict[str, Any]:
    """Flag every image of `batch` from `probabilities` (RGB pictures -> one row over `classes` each); store them."""
    images = list(batch.images.select_related("sample").order_by("position"))
    index = {name: i for i, name in enumerate(classes)}
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        rows = probabilities([sample_image_open(i.sample).convert("RGB") for i in chunk])
        for image, row in zip(chunk, rows, strict=True):
            _flag_set(image, row, classes, index, checker)
    SyntheticImage.objects.bulk_update(images, ["flag", "flagged"], batch_size=1000)
    summary = {"checker": checker, "checked": len(images), "flagged": sum(i.flagged for i in images)}
    SyntheticBatch.objects.filter(pk=batch.pk).update(flags_summary=summary)
    return summary


def _flag_set(image: SyntheticImage, row: np.ndarray, classes: list[str], index: dict[str, int], checker: str) -> None:
    predicted = classes[int(row.argmax())]
    if image.intended_class not in index:
        image.flag = {"checker": checker, "predicted": predicted, "reason": "the model does not know this class"}
        image.flagged = True
        return
    score = float(row[index[image.intended_class]])
    image.flag = {"checker": checker, "predicted": predicted, "intended_score": round(score, 4)}
    image.flagged = predicted != image.intended_class
