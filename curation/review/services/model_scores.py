"""Scores from models for proposals: a trained classifier's probabilities, CLIP class-prompt embeddings.

Models come from their own registries and loaders (robustness load_trained_model, the embeddings app's
encoder_load); nothing here builds a model with random weights. Images are read through the storage
API and decoded on a few threads while the previous batch runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from core.api_errors import ApplicationError
from curation.embeddings.encoders import EncoderUnavailable, encoder_load
from curation.embeddings.models import EmbeddingSet
from curation.models import Sample
from curation.services.ingest import sample_image_open
from robustness.models import TrainedModel

DECODE_THREADS = 4
CLIP_LOGIT_SCALE = 100.0


def trained_model_probabilities(
    *, trained_model_id: int, sample_ids: np.ndarray, batch_size: int, progress: Callable[[int, int, str], None]
) -> tuple[list[str], np.ndarray]:
    """(the model's classes, softmax probabilities of each sample, rows in ``sample_ids`` order)."""
    from robustness.ml.checkpoints import CheckpointInvalid  # noqa: PLC0415 - torch: loaded on first use, not at start-up
    from robustness.services.checkpoints import load_trained_model  # noqa: PLC0415 - torch: loaded on first use, not at start-up

    trained_model = TrainedModel.objects.get(pk=trained_model_id)
    try:
        classifier, classes, preprocessing = load_trained_model(trained_model)
    except (CheckpointInvalid, FileNotFoundError) as exc:
        raise ApplicationError(f"Trained model {trained_model_id}: {exc}", code="checkpoint_invalid", status_code=409)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    classifier = classifier.to(device).eval()
    keys = dict(Sample.objects.filter(pk__in=sample_ids.tolist()).values_list("pk", "image_key"))
    probabilities = np.zeros((sample_ids.size, len(classes)), dtype=np.float32)
    batches = math.ceil(sample_ids.size / batch_size)

    def decode(sample_id: int) -> torch.Tensor:
        return preprocessing.pixels(sample_image_open(Sample(pk=sample_id, image_key=keys[sample_id])))

    with ThreadPoolExecutor(DECODE_THREADS) as pool, torch.inference_mode():
        for batch in range(batches):
            chunk = sample_ids[batch * batch_size : (batch + 1) * batch_size].tolist()
            pixels = torch.stack(list(pool.map(decode, chunk))).to(device)
            logits = classifier(pixels).float()
            probabilities[batch * batch_size : batch * batch_size + len(chunk)] = logits.softmax(dim=1).cpu().numpy()
            progress(batch + 1, batches, f"scored {min((batch + 1) * batch_size, sample_ids.size)} images")
    return list(classes), probabilities


def zero_shot_text_embeddings(embedding_set: EmbeddingSet, prompts: list[str]) -> tuple[np.ndarray, float]:
    """Unit text embeddings of ``prompts`` by the set's encoder, and its logit scale (CLIP's learned one).

    Raises ApplicationError weights_unavailable (503) when the encoder or its weights cannot be loaded.
    """
    try:
        encoder = encoder_load(embedding_set.encoder_name)
    except EncoderUnavailable as exc:
        raise ApplicationError(str(exc), code="weights_unavailable", status_code=503)
    texts = encoder.encode_texts(prompts).cpu().numpy().astype(np.float32)
    logit_scale = getattr(encoder.module, "logit_scale", None)
    scale = float(logit_scale.exp().item()) if isinstance(logit_scale, torch.Tensor) else CLIP_LOGIT_SCALE
    return texts, scale
