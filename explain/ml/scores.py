"""Scores of CAM maps: against object masks (pointing game, energy inside) and faithfulness (ROAD, confidence drop).

Mask scores (docs/METHODS.md §8) are computed on the unscaled map upsampled to the mask's size
(bilinear, like pytorch-grad-cam's resize), so the energy share does not depend on the per-image
min-max scaling: energy inside = Σ map·mask / Σ map; background reliance = 1 − energy inside;
pointing game hit = a pixel where the map equals its maximum lies inside the mask: every tied
maximum counts (upsampled maps have plateaus, so the first one in row-major order would be an
arbitrary pick), with exact equality and no tolerance around the maximum.
A map that is zero everywhere points nowhere: a miss, and an undefined energy share (NaN).
Without a mask both are undefined (None per sample), never zero.

Faithfulness uses pytorch-grad-cam's metrics on the softmax probability of the explained class:
ROAD combined (Rong et al. 2022; (LeRF − MoRF) / 2 averaged over removal percentiles, higher is
better, pixels imputed by noisy linear interpolation) and the drop in confidence when the image is
multiplied by the scaled map (DropInConfidence: max(0, p(x) − p(x·map))).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence
from pytorch_grad_cam.metrics.road import ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

DEFAULT_ROAD_PERCENTILES = (20, 40, 60, 80)


def upsample(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """N×h×w maps → N×H×W (``size`` = (H, W)), bilinear, negatives (interpolation never makes any) clipped."""
    height, width = size
    return np.stack([np.maximum(cv2.resize(m.astype(np.float32), (width, height)), 0) for m in raw])


@dataclass(frozen=True)
class MaskScores:
    pointing_hit: bool | None
    energy_inside: float | None

    @property
    def background_reliance(self) -> float | None:
        return None if self.energy_inside is None else 1.0 - self.energy_inside


def mask_scores(cam: np.ndarray, mask: np.ndarray | None) -> MaskScores:
    """Pointing game and energy share of one H×W map against one H×W boolean mask (or None: no mask).

    The pointing game is a hit when ANY pixel equal to the map's maximum lies inside the mask (ties
    count; exact equality, no tolerance).
    """
    if mask is None:
        return MaskScores(None, None)
    if cam.shape != mask.shape:
        raise ValueError(f"map {cam.shape} and mask {mask.shape} differ in shape")
    total = float(cam.sum())
    if total <= 0:
        return MaskScores(False, None)
    peaks = cam == cam.max()  # every tied maximum, compared exactly (no tolerance)
    return MaskScores(bool((peaks & mask).any()), float(cam[mask].sum()) / total)


def mask_scores_batch(cams: np.ndarray, masks: Sequence[np.ndarray | None]) -> list[MaskScores]:
    return [mask_scores(cam, mask) for cam, mask in zip(cams, masks, strict=True)]


def _softmax_targets(targets: np.ndarray) -> list[ClassifierOutputSoftmaxTarget]:
    return [ClassifierOutputSoftmaxTarget(int(c)) for c in targets]


def road_combined(
    model: nn.Module,
    pixels: torch.Tensor,
    maps: np.ndarray,
    targets: np.ndarray,
    *,
    percentiles: Sequence[int] = DEFAULT_ROAD_PERCENTILES,
) -> np.ndarray:
    """ROAD combined per image (float32, in [−1, 1]): ``maps`` N×H×W in [0, 1] over ``pixels`` N×3×H×W."""
    metric = ROADCombined(percentiles=list(percentiles))
    return np.asarray(metric(pixels, maps, _softmax_targets(targets), model), np.float32).reshape(-1)


def confidence_drop(model: nn.Module, pixels: torch.Tensor, maps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """max(0, p(x) − p(x·map)) per image for the explained class (float32)."""
    metric = DropInConfidence()
    scores = metric(pixels, np.ascontiguousarray(maps, np.float32), _softmax_targets(targets), model)
    return np.asarray(scores, np.float32).reshape(-1)
