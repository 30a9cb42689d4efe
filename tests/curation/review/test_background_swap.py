"""The background swap (curation.review.ml.background_swap): composites made from the right parts, and a probe on
them that reads the object where a whole-frame probe reads the background. Images are drawn here: a coloured square
(the object, its colour the class) on a flat background (its colour tied to the class in the reference images)."""

import numpy as np

from curation.review.ml.background_swap import (
    SwapConfig,
    SwapImage,
    swap_composites,
    swap_contradicts,
    swap_disagrees,
    swap_probabilities,
    swap_questions,
)
from curation.review.ml.instance_votes import InstanceVotes
from curation.review.ml.proposals import ProbeConfig, SplitLabelIssues, probe_probabilities

SIDE = 32
OBJECT_COLOUR = {0: (220, 30, 30), 1: (30, 30, 220)}
BACKGROUND_COLOUR = {0: (40, 170, 40), 1: (230, 210, 40)}


def drawn(object_class: int, background_class: int, rng: np.random.Generator) -> SwapImage:
    pixels = np.empty((SIDE, SIDE, 3), np.uint8)
    pixels[:] = BACKGROUND_COLOUR[background_class]
    pixels = np.clip(pixels + rng.integers(-12, 13, pixels.shape), 0, 255).astype(np.uint8)
    top, left = rng.integers(4, 14, size=2)
    mask = np.zeros((SIDE, SIDE), bool)
    mask[top : top + 14, left : left + 14] = True
    pixels[mask] = OBJECT_COLOUR[object_class]
    return SwapImage(pixels, mask)


def colour_features(images: np.ndarray) -> np.ndarray:
    """A fixed 'encoder': each image's 4×4 mean colours (48 numbers), so background and object both show."""
    images = np.asarray(images, dtype=np.float32)
    blocks = images.reshape(len(images), 4, SIDE // 4, 4, SIDE // 4, 3).mean(axis=(2, 4))
    return blocks.reshape(len(images), -1) / 255.0


def confounded_dataset():
    """40 reference images, each class on its own background; then a class-0 object on class 1's background
    (labelled 0, right) and a class-1 object on class 0's background filed as 0 (wrong)."""
    rng = np.random.default_rng(0)
    labels = np.array([0] * 20 + [1] * 20 + [0, 0])
    images = [drawn(int(c), int(c), rng) for c in labels[:40]]
    images += [drawn(0, 1, rng), drawn(1, 0, rng)]
    return images, labels, np.arange(40), np.arange(42)


def test_a_composite_is_the_object_on_another_reference_images_background():
    images, _, reference, groups = confounded_dataset()
    groups = groups.copy()
    groups[1] = groups[0]  # image 1 is a copy of image 0: never a background for it

    composites = swap_composites(images, np.array([0, 41]), reference, groups, SwapConfig(copies=3, seed=5))

    assert composites.shape == (2, 3, SIDE, SIDE, 3)
    for row, index in enumerate([0, 41]):
        mask = images[index].mask
        for composite in composites[row]:
            assert (composite[mask] == images[index].pixels[mask]).all()  # the object, untouched
            assert not np.array_equal(composite[~mask], images[index].pixels[~mask])  # another background
    again = swap_composites(images, np.array([0, 41]), reference, groups, SwapConfig(copies=3, seed=5))
    assert np.array_equal(composites, again)  # seeded per image


def test_an_image_without_a_foreground_is_its_own_composite():
    images, _, reference, groups = confounded_dataset()
    images[41] = SwapImage(images[41].pixels, None)

    composites = swap_composites(images, np.array([41]), reference, groups, SwapConfig(copies=2))

    assert all(np.array_equal(c, images[41].pixels) for c in composites[0])


def test_the_swap_probe_reads_objects_where_the_whole_frame_probe_reads_backgrounds():
    images, labels, reference, groups = confounded_dataset()
    whole_frame = colour_features(np.stack([image.pixels for image in images]))
    plain = probe_probabilities(whole_frame[reference], labels[reference], whole_frame[40:], 2, ProbeConfig())

    swapped = swap_probabilities(colour_features, images, labels, reference, np.array([3, 40, 41]), groups, 2)

    assert plain.argmax(axis=1).tolist() == [1, 0]  # the background decides, wrongly for both
    assert swapped.argmax(axis=1).tolist() == [0, 0, 1]  # reference image 3 out of fold; 40 and 41 by their objects
    assert np.allclose(swapped.sum(axis=1), 1.0)
    assert swap_disagrees(swapped, labels[[3, 40, 41]]).tolist() == [False, False, True]


def test_small_classes_get_as_many_folds_as_their_largest_class_allows():
    # the whole-loop demo's case: 3 reference images per class, fewer than the 5 folds asked for
    images, labels, _, groups = confounded_dataset()
    keep = np.r_[0:3, 20:23, 40:42]
    images, labels, groups = [images[i] for i in keep], labels[keep], np.arange(len(keep))

    swapped = swap_probabilities(colour_features, images, labels, np.arange(6), np.array([1, 4, 6, 7]), groups, 2)
    single = swap_probabilities(colour_features, images[:2] + images[6:], np.array([0, 1, 0, 0]), np.arange(2),
                                np.array([0, 2]), np.arange(4), 2)  # fmt: skip

    assert np.isfinite(swapped).all() and swapped.argmax(axis=1).tolist() == [0, 1, 0, 1]  # 3 folds
    assert np.isnan(single[0]).all() and np.isfinite(single[1]).all()  # one per class: no folds, no opinion


def test_no_opinion_keeps_a_flag():
    probabilities = np.array([[0.9, 0.1], [np.nan, np.nan], [0.2, 0.8]])

    assert swap_disagrees(probabilities, np.array([0, 0, 0])).tolist() == [False, True, True]


def test_the_swap_flags_a_doubtful_image_only_when_it_all_but_rules_its_label_out():
    probabilities = np.array([[0.004, 0.996], [0.006, 0.994], [np.nan, np.nan], [0.9, 0.1], [0.001, 0.999]])
    labels = np.array([0, 0, 0, 1, 1])

    assert swap_contradicts(probabilities, labels).tolist() == [True, False, False, False, False]  # NaN: no flag
    assert swap_contradicts(probabilities, labels, SwapConfig(contradicts=0.2)).tolist() == [
        True, True, False, True, False
    ]  # fmt: skip


def test_the_swap_is_asked_about_unsettled_flags_and_doubtful_images_no_partner_decided():
    # rows: 0-1 flagged by partners of 9 and 10 inliers; 2 a probe flag, no partner; 3-5 unflagged, no partner:
    # a shift flag, p(label) 0.05, p(label) 0.2; 6 unflagged with partners, though the probe doubts it.
    labels = np.zeros(7, dtype=int)
    given = np.array([0.1, 0.1, 0.01, 0.6, 0.05, 0.2, 0.01])
    flagged = np.array([True, True, True, False, False, False, False])
    covered = np.array([True, True, False, False, False, False, True])
    n = labels.size
    strongest = np.array([9, 10, 0, 0, 0, 0, 12])
    votes = InstanceVotes(
        is_issue=flagged, covered=covered, object_class=np.where(covered, 1, -1), partners=covered.astype(int),
        agreeing=np.zeros(n, int), doubt=np.zeros(n), weak=np.zeros(n, bool), strongest=strongest,
    )  # fmt: skip
    outcome = SplitLabelIssues(
        probabilities=np.stack([given, 1 - given], axis=1), is_issue=flagged & ~covered,
        is_shift=np.array([False, False, False, True, False, False, True]), issue_score=1 - given, folds=5,
        method="per_split",
    )  # fmt: skip

    checked, doubtful = swap_questions(votes, outcome, labels, 10, SwapConfig())
    fifth_round, _ = swap_questions(votes, outcome, labels, 8, SwapConfig())

    assert checked.tolist() == [0, 2] and doubtful.tolist() == [3, 4]
    assert fifth_round.tolist() == [2]  # a partner of 9 inliers settled it then
