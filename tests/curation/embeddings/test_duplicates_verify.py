"""Pixel verification of near-duplicate candidates: copies score high, other shots of one scene do not."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from curation.embeddings.services.duplicates import _best_candidates
from curation.ml.similarity.verify import copy_score, pair_scores, verification_thumbnails

THRESHOLD = 0.68  # the verification threshold (a measured constant), fixed before these tests were written


def scene(seed: int, *, object_at: tuple[int, int] = (40, 30), side: int = 128) -> Image.Image:
    """A textured background (smooth blobs and a grass-like texture of ~4 px grains) with a dark ellipse, the
    'object', at ``object_at``."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((side, side), Image.BICUBIC)
    grains = Image.fromarray(rng.integers(0, 256, (side // 4, side // 4), dtype=np.uint8)).resize((side, side))
    fine = (np.asarray(grains, dtype=np.float32)[..., None] - 128) * 0.25
    pixels = np.clip(np.asarray(coarse, dtype=np.float32) + fine, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    x, y = object_at
    ImageDraw.Draw(image).ellipse((x, y, x + 45, y + 30), fill=(20, 20, 30))
    return image


def reencoded(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def crop_back(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    return image.crop(box).resize(image.size, Image.BICUBIC)


@pytest.mark.parametrize(
    "change",
    [
        lambda im: reencoded(im, 70),
        lambda im: crop_back(im, (3, 2, 125, 124)),
        lambda im: reencoded(ImageEnhance.Brightness(crop_back(im, (0, 4, 122, 128))).enhance(1.08), 80),
        lambda im: im.resize((96, 96), Image.BILINEAR),
        lambda im: ImageEnhance.Color(im).enhance(0.7),
    ],
    ids=["jpeg", "crop", "crop-brightness-jpeg", "resize", "colour"],
)
def test_a_copy_scores_above_the_threshold(change):
    original = scene(1)

    assert copy_score(original, change(original)) >= THRESHOLD


def test_the_same_background_with_the_object_moved_or_another_background_scores_below_it():
    original = scene(1)

    moved = copy_score(original, scene(1, object_at=(70, 80)))
    other_background = copy_score(original, scene(2))

    assert moved < THRESHOLD and other_background < THRESHOLD


def test_a_mirror_image_is_a_copy_only_when_flips_are_asked_for():
    original = scene(3)
    mirrored = original.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    assert copy_score(original, mirrored) < THRESHOLD
    assert copy_score(original, mirrored, flips=True) >= THRESHOLD


def test_batch_scores_equal_the_one_pair_loop():
    images = [scene(1), reencoded(scene(1), 75), scene(2), scene(1, object_at=(60, 60))]
    rows_a, rows_b = np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3])

    batch = pair_scores(verification_thumbnails(images), rows_a, rows_b)

    loop = [copy_score(images[a], images[b]) for a, b in zip(rows_a, rows_b, strict=True)]
    assert batch.tolist() == pytest.approx(loop, abs=1e-6)


def test_flat_images_score_by_their_grey_level():
    grey, same, dark = (Image.new("RGB", (50, 40), colour) for colour in ((128,) * 3, (128,) * 3, (28,) * 3))

    assert copy_score(grey, same) == 1.0
    assert copy_score(grey, dark) == pytest.approx(1 - 100 / 255, abs=0.01)
    assert copy_score(grey, scene(1)) == 0.0


def test_candidates_keep_a_pair_that_is_among_the_k_best_of_either_image():
    # row 0 has neighbours 1, 2, 3 (best first); row 3's best is 0
    rows_a, rows_b = np.array([0, 0, 0, 1]), np.array([1, 2, 3, 3])
    scores = np.array([0.95, 0.9, 0.8, 0.7], dtype=np.float32)

    kept = _best_candidates(rows_a, rows_b, scores, 1)

    # (0, 1): best of both; (0, 3): best of row 3; (0, 2): second of 0, best of 2; (1, 3): second of both
    assert [(int(a), int(b)) for a, b in zip(kept[0], kept[1], strict=True)] == [(0, 1), (0, 2), (0, 3)]
