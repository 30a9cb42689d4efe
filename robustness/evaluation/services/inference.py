"""Running a classifier over uint8 images in batches, and storing example images."""

import io
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.storage import blob_delete, blob_save
from robustness.evaluation.models import EvaluationRun

EXAMPLES_PREFIX = EvaluationRun.STORAGE_PREFIX  # a run's examples: <prefix>/<run id>/<name>.png


def pixels_from_uint8(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """N×H×W×3 uint8 → N×3×H×W float in [0, 1] on `device`."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float().div_(255)


def uint8_from_pixels(pixels: torch.Tensor) -> np.ndarray:
    """N×3×H×W float in [0, 1] → N×H×W×3 uint8 (rounded)."""
    return (pixels.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def predict_probabilities(
    model: nn.Module,
    images: np.ndarray,
    *,
    device: torch.device,
    batch_size: int,
    on_batch: Callable[[], None] | None = None,
) -> np.ndarray:
    """Softmax probabilities (N×C float32) of uint8 images; `on_batch` runs after each batch (cancel checks)."""
    outputs = []
    for start in range(0, len(images), batch_size):
        logits = model(pixels_from_uint8(images[start : start + batch_size], device))
        outputs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        if on_batch is not None:
            on_batch()
    if not outputs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(outputs)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def example_key(run_id: int, name: str) -> str:
    return f"{EXAMPLES_PREFIX}/{run_id}/{name}.png"


class ExampleWriter:
    """Stores example images of one run as PNGs (`evaluation/runs/<run>/<name>.png`), remembering their keys."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.keys: dict[str, str] = {}

    def save(self, name: str, image: np.ndarray) -> str:
        key = example_key(self.run_id, name)
        blob_delete(key)  # a retried attempt rewrites its examples
        blob_save(key=key, data=png_bytes(image))
        self.keys[name] = key
        return key


def examples_delete(keys: dict[str, str]) -> None:
    for key in keys.values():
        blob_delete(key)
