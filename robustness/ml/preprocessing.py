"""From a decoded image to the pixel tensor a classifier takes (normalization is inside the model).

The same resize is used for training, evaluation and explanation: shorter side to ``img_size``
(bilinear, antialiased), then a centre crop of ``img_size`` x ``img_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class Preprocessing:
    """How a trained model wants its input; ``mean``/``std`` are applied by the model itself."""

    img_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def image_uint8(self, image: Image.Image) -> torch.Tensor:
        """RGB uint8 tensor (3, img_size, img_size): shorter side resized to img_size, centre crop."""
        return image_to_uint8(image, self.img_size)

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """Float tensor (3, img_size, img_size) in [0, 1], ready for the model (add a batch dimension)."""
        return self.image_uint8(image).float().div_(255)

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """What the model does first; for code that needs normalized inputs outside the model."""
        mean = torch.tensor(self.mean, device=pixels.device).view(-1, 1, 1)
        std = torch.tensor(self.std, device=pixels.device).view(-1, 1, 1)
        return (pixels - mean) / std


def image_to_uint8(image: Image.Image, size: int) -> torch.Tensor:
    """Shorter side to ``size``, centre crop ``size`` x ``size``, as an RGB uint8 tensor (3, size, size)."""
    image = image.convert("RGB")
    width, height = image.size
    scale = size / min(width, height)
    resized = (max(size, round(width * scale)), max(size, round(height * scale)))
    if resized != image.size:
        image = image.resize(resized, Image.Resampling.BILINEAR, reducing_gap=None)
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    image = image.crop((left, top, left + size, top + size))
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
