"""Mask and faithfulness scores on hand-made maps, masks and models (docs/METHODS.md §8)."""

import numpy as np
import pytest
import torch
from torch import nn

from explain.ml.scores import MaskScores, confidence_drop, mask_scores, road_combined, upsample


def square_mask(size: int, top: int, left: int, side: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[top : top + side, left : left + side] = True
    return mask


def test_energy_inside_and_pointing_game_on_a_hand_made_map():
    cam = np.array([[0, 0, 0, 0], [0, 3, 1, 0], [0, 1, 1, 0], [2, 0, 0, 0]], np.float32)
    mask = square_mask(4, 1, 1, 2)  # holds 3 + 1 + 1 + 1 = 6 of the total 8

    scores = mask_scores(cam, mask)

    assert scores == MaskScores(pointing_hit=True, energy_inside=0.75)
    assert scores.background_reliance == 0.25


def test_a_peak_outside_the_mask_is_a_pointing_miss():
    cam = np.array([[5, 0], [0, 1]], np.float32)

    assert mask_scores(cam, np.array([[False, False], [False, True]])) == MaskScores(False, 1 / 6)


def test_without_a_mask_the_scores_are_absent_not_zero():
    scores = mask_scores(np.ones((4, 4), np.float32), None)

    assert scores == MaskScores(None, None)
    assert scores.background_reliance is None


def test_an_empty_map_points_nowhere_and_has_no_energy_share():
    scores = mask_scores(np.zeros((4, 4), np.float32), square_mask(4, 0, 0, 2))

    assert scores == MaskScores(False, None)


def test_map_and_mask_must_have_one_shape():
    with pytest.raises(ValueError, match=r"map \(4, 4\) and mask \(8, 8\) differ in shape"):
        mask_scores(np.ones((4, 4), np.float32), square_mask(8, 0, 0, 2))


def test_upsampling_keeps_a_constant_map_and_the_energy_share_of_a_block_map():
    raw = np.zeros((2, 4, 4), np.float32)
    raw[0] = 2.0
    raw[1, :2, :] = 1.0  # the top half

    maps = upsample(raw, (16, 16))

    assert maps.shape == (2, 16, 16)
    np.testing.assert_allclose(maps[0], 2.0)
    top_half = np.zeros((16, 16), bool)
    top_half[:8] = True
    assert mask_scores(maps[1], top_half).energy_inside == pytest.approx(1.0, abs=0.07)


class LeftHalfModel(nn.Module):
    """Two classes; the logit of class 0 is the mean brightness of the left half, scaled."""

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        left = pixels[:, :, :, : pixels.shape[3] // 2].mean(dim=(1, 2, 3))
        return torch.stack([8 * left, torch.full_like(left, 2.0)], dim=1)


def test_confidence_drop_equals_the_probability_lost_when_the_image_is_multiplied_by_the_map():
    model = LeftHalfModel()
    pixels = torch.full((2, 3, 8, 8), 0.8)
    maps = np.zeros((2, 8, 8), np.float32)
    maps[0, :, :4] = 1.0  # keeps the left half: nothing lost
    maps[1, :, 4:] = 1.0  # keeps the right half: the left goes dark

    drops = confidence_drop(model, pixels, maps, np.array([0, 0]))

    before = torch.softmax(model(pixels), dim=1)[:, 0]
    after = torch.softmax(model(pixels * torch.from_numpy(maps)[:, None]), dim=1)[:, 0]
    expected = torch.clamp(before - after, min=0).numpy()
    np.testing.assert_allclose(drops, expected, rtol=1e-5)
    assert drops[0] == pytest.approx(0.0, abs=1e-6) and drops[1] > 0.5


def test_road_prefers_the_map_on_the_evidence_and_is_zero_for_a_model_that_ignores_the_image():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.uniform(0.2, 1.0, (2, 3, 12, 12)).astype(np.float32))
    on_evidence = np.tile(np.linspace(1, 0, 12, dtype=np.float32), (12, 1))  # left columns most relevant
    maps = np.stack([on_evidence, on_evidence[:, ::-1].copy()])

    scores = road_combined(LeftHalfModel(), pixels, maps, np.array([0, 0]), percentiles=[25, 50, 75])

    assert scores.shape == (2,)
    assert scores[0] > scores[1]
    constant = road_combined(ConstantModel(), pixels, maps, np.array([0, 0]), percentiles=[50])
    np.testing.assert_array_equal(constant, np.zeros(2, np.float32))


class ConstantModel(nn.Module):
    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[1.0, 0.0]]).expand(len(pixels), 2)
