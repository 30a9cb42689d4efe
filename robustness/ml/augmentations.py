"""Named augmentation presets, applied to whole batches on the training device.

A preset is stored with the run by name and by its ``spec()`` (what it did), so a run can be
repeated exactly. Random parameters are drawn from the loop's CPU ``torch.Generator`` and only
then moved to the device, so a seed gives the same augmentations on CPU and GPU.

Operations, in this order (all per sample):
- random crop: reflect-pad by ``crop_padding`` x size on each side, crop back to the size at a
  random offset (the CIFAR recipe; keeps the resolution, which the cached uint8 tensors fix);
- horizontal flip with probability 0.5;
- colour jitter: brightness, contrast and saturation factors uniform in [1 - s, 1 + s].
"""

from __future__ import annotations

import torch
from torch.nn import functional

from robustness.ml.augmentation_presets import (
    AUGMENTATIONS,
    DEFAULT_AUGMENTATION,
    AugmentationPreset,
    augmentation_get,
)

__all__ = ["AUGMENTATIONS", "DEFAULT_AUGMENTATION", "AugmentationPreset", "augment", "augmentation_get"]


def augment(preset: AugmentationPreset, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply ``preset`` to a batch of [0, 1] pixels (N, 3, H, W) on any device; returns a new tensor."""
    if preset.crop_padding > 0:
        pixels = random_crop(pixels, round(preset.crop_padding * pixels.shape[-1]), generator)
    if preset.horizontal_flip:
        flip = (torch.rand(pixels.shape[0], generator=generator) < 0.5).to(pixels.device)
        pixels = torch.where(flip.view(-1, 1, 1, 1), pixels.flip(-1), pixels)
    if preset.color_jitter > 0:
        pixels = color_jitter(pixels, preset.color_jitter, generator)
    return pixels


def random_crop(pixels: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Reflect-pad by ``padding`` and crop each sample back to its size at a uniform random offset."""
    if padding <= 0:
        return pixels
    count, _, height, width = pixels.shape
    padded = functional.pad(pixels, (padding, padding, padding, padding), mode="reflect")
    offsets = torch.randint(0, 2 * padding + 1, (count, 2), generator=generator).to(pixels.device)
    rows = offsets[:, :1] + torch.arange(height, device=pixels.device)
    cols = offsets[:, 1:] + torch.arange(width, device=pixels.device)
    batch = torch.arange(count, device=pixels.device).view(-1, 1, 1)
    # Advanced indices around a slice put their dimensions first: (N, H, W, C).
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def color_jitter(pixels: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Brightness, contrast and saturation, each scaled by a factor uniform in [1 - strength, 1 + strength]."""
    factors = (1 + strength * (2 * torch.rand(3, pixels.shape[0], generator=generator) - 1)).to(pixels)
    brightness, contrast, saturation = (factor.view(-1, 1, 1, 1) for factor in factors)
    pixels = pixels * brightness
    mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
    pixels = (pixels - mean) * contrast + mean
    gray = (0.299 * pixels[:, :1] + 0.587 * pixels[:, 1:2] + 0.114 * pixels[:, 2:3]).expand_as(pixels)
    pixels = (pixels - gray) * saturation + gray
    return pixels.clamp_(0, 1)
