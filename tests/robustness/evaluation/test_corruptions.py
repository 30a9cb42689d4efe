"""ImageNet-C corruptions by name: shapes, reproducibility per image, severities, bad input."""

import numpy as np
import pytest

from robustness.ml.corruptions import (
    COMMON_CORRUPTIONS,
    corrupt_images,
    corruption_names,
    create_corruption,
    image_seed,
)

# Corruptions that draw random numbers (the others are deterministic functions of the image).
RANDOM = {"gaussian_noise", "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "snow", "frost", "fog"}
RANDOM |= {"elastic_transform", "speckle_noise", "spatter"}


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    smooth = np.repeat(np.repeat(rng.integers(40, 216, (3, 8, 8, 3)), 4, axis=1), 4, axis=2)
    return smooth.astype(np.uint8)


def test_the_benchmark_has_fifteen_corruptions_and_four_held_out():
    assert len(corruption_names("common")) == 15
    assert corruption_names("all")[15:] == ["speckle_noise", "gaussian_blur", "spatter", "saturate"]


@pytest.mark.parametrize("name", corruption_names("all"))
def test_every_corruption_is_reproducible_per_image_whatever_the_batch(images, name):
    keys = [11, 12, 13]

    batch = corrupt_images(images, name=name, severity=3, seed=0, image_keys=keys)
    alone = corrupt_images(images[2:], name=name, severity=3, seed=0, image_keys=keys[2:])
    reseeded = corrupt_images(images[2:], name=name, severity=3, seed=1, image_keys=keys[2:])

    assert batch.shape == images.shape and batch.dtype == np.uint8
    assert np.array_equal(batch[2], alone[0])
    assert not np.array_equal(batch[2], images[2])
    if name in RANDOM:
        assert not np.array_equal(alone, reseeded)


@pytest.mark.parametrize("name", ["gaussian_noise", "contrast", "defocus_blur"])
def test_higher_severity_moves_the_image_further(images, name):
    distance = {
        s: np.abs(corrupt_images(images, name=name, severity=s, seed=0, image_keys=[1, 2, 3]) - images.astype(float))
        for s in (1, 5)
    }

    assert distance[5].mean() > distance[1].mean()


def test_corruptions_leave_the_global_numpy_random_state_alone(images):
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)

    corrupt_images(images, name="gaussian_noise", severity=1, seed=0, image_keys=[1, 2, 3])

    assert np.random.random() == expected


def test_image_seed_depends_on_every_part_of_its_key():
    base = image_seed(0, 5, "fog", 1)

    assert base == image_seed(0, 5, "fog", 1)
    assert len({base, image_seed(1, 5, "fog", 1), image_seed(0, 6, "fog", 1), image_seed(0, 5, "snow", 1)}) == 4
    assert image_seed(0, 5, "fog", 2) != base


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((31, 40, 3), np.uint8), "at least 32 px"),
        (np.zeros((32, 32), np.uint8), "H×W×3"),
        (np.zeros((32, 32, 3), np.float32), "uint8"),
    ],
)
def test_bad_images_are_refused_with_a_reason(image, message):
    with pytest.raises(ValueError, match=message):
        create_corruption("fog")(image, 1, 0)


def test_unknown_names_and_severities_are_refused(images):
    with pytest.raises(ValueError, match="unknown corruption 'rain'"):
        create_corruption("rain")
    with pytest.raises(ValueError, match="severity"):
        create_corruption(COMMON_CORRUPTIONS[0])(images[0], 6, 0)


@pytest.mark.parametrize("side", [(32, 32), (40, 64), (700, 1300)], ids=["32px", "40x64", "larger-than-frost"])
@pytest.mark.parametrize("severity", [1, 5])
def test_our_frost_gives_the_librarys_pixels(side, severity):
    from imagecorruptions import corruption_dict
    from PIL import Image

    from robustness.ml.corruptions import frost

    image = Image.fromarray(np.random.default_rng(severity).integers(0, 256, (*side, 3), dtype=np.uint8))
    np.random.seed(7)
    expected = corruption_dict["frost"](image, severity)
    np.random.seed(7)

    assert np.array_equal(frost(image, severity), expected)
