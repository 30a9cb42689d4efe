"""Pointing game with tied maxima: any pixel at the maximum inside the mask is a hit; no tolerance."""

import numpy as np

from explain.ml.scores import mask_scores, upsample


def loop_pointing_hit(cam: np.ndarray, mask: np.ndarray) -> bool:
    """The obvious reference: scan every pixel; a hit when one equal to the maximum lies in the mask."""
    peak = max(float(v) for v in cam.ravel())
    return any(bool(mask[i, j]) and float(cam[i, j]) == peak for i in range(cam.shape[0]) for j in range(cam.shape[1]))


def test_a_tied_maximum_inside_the_mask_is_a_hit_even_when_the_first_one_is_outside():
    cam = np.array([[5, 0, 0], [0, 1, 0], [0, 0, 5]], np.float32)
    mask = np.zeros((3, 3), bool)
    mask[2, 2] = True

    assert mask_scores(cam, mask).pointing_hit is True


def test_a_value_just_below_the_maximum_does_not_count():
    cam = np.array([[1.0, 0.0], [0.0, np.nextafter(np.float32(1.0), np.float32(0.0))]], np.float32)
    mask = np.array([[False, False], [False, True]])

    assert mask_scores(cam, mask).pointing_hit is False


def test_upsampled_plateaus_match_the_loop_reference():
    # given coarse maps with repeated values, upsampled 8x (nearest-tied plateaus and bilinear ridges)
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 4, (60, 4, 4)).astype(np.float32)
    cams = upsample(coarse, (32, 32))
    masks = [np.zeros((32, 32), bool) for _ in range(60)]
    for mask, (top, left) in zip(masks, rng.integers(0, 24, (60, 2)), strict=True):
        mask[top : top + 12, left : left + 12] = True
    # when
    hits = [mask_scores(cam, mask).pointing_hit for cam, mask in zip(cams, masks, strict=True)]
    # then every map agrees with the loop, and the first-argmax rule would have missed some hits
    assert hits == [loop_pointing_hit(cam, mask) for cam, mask in zip(cams, masks, strict=True)]
    first_argmax = [bool(mask.ravel()[int(np.argmax(cam))]) for cam, mask in zip(cams, masks, strict=True)]
    assert sum(h and not f for h, f in zip(hits, first_argmax, strict=True)) >= 1
