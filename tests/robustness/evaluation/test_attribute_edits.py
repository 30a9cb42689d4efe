"""Attribute edits with an object mask: what each edit keeps and what it changes."""

import numpy as np
import pytest

from robustness.ml.attribute_edits import (
    DEFAULT_EDITS,
    EDITS,
    IDENTITY,
    create_edit,
    fit_background,
    mask_is_usable,
    paste_object,
    remove_object,
)


@pytest.fixture
def scene():
    """A 40×40 striped background with a 10×12 solid square object at rows 10–20, columns 14–26."""
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, :, 1] = (np.arange(40) * 6)[None, :]
    mask = np.zeros((40, 40), bool)
    mask[10:20, 14:26] = True
    image[mask] = (200, 30, 30)
    return image, mask


def test_registry_has_the_default_edits_and_a_null_control():
    assert set(DEFAULT_EDITS) <= set(EDITS)
    assert "null" in DEFAULT_EDITS


def test_pasting_with_the_identity_over_the_image_itself_returns_the_image(scene):
    image, mask = scene

    assert np.array_equal(paste_object(image, mask, image, IDENTITY), image)


def test_null_edit_keeps_the_object_and_only_touches_a_thin_ring_around_it(scene):
    image, mask = scene

    edited = create_edit("null")(image, mask, rng=np.random.default_rng(0))

    changed = (edited != image).any(axis=2)
    assert np.array_equal(edited[mask], image[mask])
    rows, cols = np.nonzero(changed)
    assert rows.min() >= 10 - 2 and rows.max() < 20 + 2 and cols.min() >= 14 - 2 and cols.max() < 26 + 2


def test_background_swap_keeps_the_object_and_takes_everything_else_from_the_new_background(scene):
    image, mask = scene
    background = np.full((80, 60, 3), 77, np.uint8)

    edited = create_edit("background_swap")(image, mask, rng=np.random.default_rng(0), background=background)

    assert np.array_equal(edited[mask], image[mask])
    assert (edited[~mask] == 77).all()


def test_background_swap_without_a_background_is_an_error(scene):
    image, mask = scene

    with pytest.raises(ValueError, match="needs a background"):
        create_edit("background_swap")(image, mask, rng=np.random.default_rng(0))


def test_object_scale_shrinks_the_object_area_by_the_square_of_the_factor(scene):
    image, mask = scene

    edited = create_edit("object_scale", factor=0.5)(image, mask, rng=np.random.default_rng(0))

    red = (edited[:, :, 0] > 150) & (edited[:, :, 1] < 80)
    assert red.sum() == pytest.approx(mask.sum() * 0.25, rel=0.2)


def test_object_position_moves_the_whole_object_and_is_reproducible_per_seed(scene):
    image, mask = scene
    edit = create_edit("object_position")

    edited = edit(image, mask, rng=np.random.default_rng(3))
    again = edit(image, mask, rng=np.random.default_rng(3))

    red = (edited[:, :, 0] == 200) & (edited[:, :, 1] == 30)
    assert np.array_equal(edited, again)
    assert red.sum() == mask.sum()
    assert not np.array_equal(red, mask)


def test_object_rotation_by_ninety_degrees_turns_the_box_on_its_side(scene):
    image, mask = scene

    edited = create_edit("object_rotation", degrees=90)(image, mask, rng=np.random.default_rng(0))

    red = (edited[:, :, 0] > 150) & (edited[:, :, 1] < 80)
    rows, cols = np.nonzero(red)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (12, 10)


def test_removing_the_object_fills_it_from_the_surroundings(scene):
    image, mask = scene

    filled = remove_object(image, mask)

    assert filled[mask][:, 0].max() < 100  # no red left where the object was


def test_fit_background_covers_the_target_size():
    assert fit_background(np.zeros((10, 50, 3), np.uint8), 40, 40).shape == (40, 40, 3)


@pytest.mark.parametrize(
    ("mask_fill", "usable"), [(0, False), (3, False), (100, True), (1600, False)], ids=["empty", "tiny", "ok", "full"]
)
def test_masks_need_an_object_and_some_background(mask_fill, usable):
    mask = np.zeros(1600, bool)
    mask[:mask_fill] = True

    assert mask_is_usable(mask.reshape(40, 40)) is usable


def test_edits_refuse_a_mask_of_another_size(scene):
    image, _ = scene

    with pytest.raises(ValueError, match="does not match"):
        create_edit("null")(image, np.ones((10, 10), bool), rng=np.random.default_rng(0))
