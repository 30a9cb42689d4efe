"""Label issues decided by same-object partners (curation.review.ml.instance_votes), against hand-worked cases; and
the image reads feeding them (an unreadable image has no keypoints)."""

import numpy as np

from core.storage import blob_save
from curation.review.ml.instance_votes import InstanceVoteConfig, copy_groups, instance_label_issues
from curation.review.services.instance_evidence import _features

UNSURE = np.full(3, 1 / 3)


def probabilities(*rows) -> np.ndarray:
    return np.asarray([UNSURE if row is None else row for row in rows], dtype=float)


def test_the_odd_one_out_among_images_of_one_object_is_flagged_with_the_objects_class():
    labels = np.array([0, 0, 1, 2])  # images 0-2 show one object; 3 has no partner
    pairs = np.array([[0, 1, 30], [0, 2, 25], [1, 2, 20]])
    fallback = np.array([False, False, False, True])

    votes = instance_label_issues(labels, probabilities(None, None, None, None), pairs, np.zeros((0, 2)), fallback)

    assert votes.is_issue.tolist() == [False, False, True, True]  # 3 keeps the probe's decision
    assert votes.object_class.tolist() == [0, 0, 0, -1]
    assert votes.covered.tolist() == [True, True, True, False]
    assert votes.partners.tolist() == [2, 2, 2, 0]
    assert votes.agreeing.tolist() == [1, 1, 0, 0]
    assert votes.doubt[2] > 0.95 > 0.05 > votes.doubt[0]  # the vote's doubt about each image's own label
    assert np.isnan(votes.doubt[3])


def test_two_images_that_disagree_are_settled_by_the_probe_for_both_at_once():
    labels = np.array([0, 1])
    pairs = np.array([[0, 1, 40]])
    probe = probabilities([0.1, 0.8, 0.1], [0.2, 0.7, 0.1])  # both look like class 1

    votes = instance_label_issues(labels, probe, pairs, np.zeros((0, 2)), np.array([False, False]))

    assert votes.is_issue.tolist() == [True, False]
    assert votes.object_class.tolist() == [1, 1]


def test_a_probe_flag_is_cleared_when_partners_share_the_label():
    labels = np.array([0, 0, 0])
    pairs = np.array([[0, 1, 15], [0, 2, 12]])
    probe = probabilities([0.01, 0.98, 0.01], None, None)  # the probe read image 0's background

    votes = instance_label_issues(labels, probe, pairs, np.zeros((0, 2)), np.array([True, False, False]))

    assert not votes.is_issue.any()


def test_copies_vote_once_so_a_copied_wrong_label_is_still_outvoted():
    labels = np.array([1, 1, 0, 0])  # 0 and 1 are one photo filed wrongly twice; 2 and 3 show the same object
    pairs = np.array([[0, 2, 30], [0, 3, 30], [1, 2, 30], [1, 3, 30], [2, 3, 30], [0, 1, 90]])
    copies = np.array([[0, 1]])

    votes = instance_label_issues(labels, probabilities(*[None] * 4), pairs, copies, np.zeros(4, dtype=bool))

    assert votes.is_issue.tolist() == [True, True, False, False]
    assert copy_groups(4, copies).tolist() == [0, 0, 2, 3]


def test_many_weak_partners_of_one_label_count_as_few():
    # image 0's object: two strong partners labelled 0; eight weak (shared-background) partners labelled 1
    labels = np.array([0, 0, 0] + [1] * 8)
    pairs = np.array([[0, 1, 40], [0, 2, 35]] + [[0, j, 6] for j in range(3, 11)])

    votes = instance_label_issues(labels, probabilities(*[None] * 11), pairs, np.zeros((0, 2)), np.zeros(11, bool))

    assert not votes.is_issue[0]
    assert votes.partners[0] == 10


def test_partners_under_the_least_score_do_not_count():
    labels = np.array([0, 1, 1])
    pairs = np.array([[0, 1, 3], [0, 2, 3]])
    config = InstanceVoteConfig(min_score=4)

    votes = instance_label_issues(
        labels, probabilities(None, None, None), pairs, np.zeros((0, 2)), np.zeros(3, bool), config
    )

    assert not votes.covered.any()
    assert not votes.is_issue.any()


def test_weak_partners_overturn_a_training_label_but_not_a_held_out_one_which_keeps_the_fallback():
    # image 0 (label 0, the probe leans to 1) has two weak partners labelled 1 (5 and 6 inliers)
    labels = np.array([0, 1, 1])
    weak = np.array([[0, 1, 5], [0, 2, 6]])
    probe = probabilities([0.1, 0.85, 0.05], None, None)
    fallback = np.array([False, False, False])
    held_out = np.array([True, False, False])

    in_train = instance_label_issues(labels, probe, weak, np.zeros((0, 2)), fallback)
    in_test = instance_label_issues(labels, probe, weak, np.zeros((0, 2)), fallback, held_out=held_out)
    stronger = weak + np.array([0, 0, 4])  # 9 and 10 inliers
    strong = instance_label_issues(labels, probe, stronger, np.zeros((0, 2)), fallback, held_out=held_out)

    assert (in_train.is_issue[0], in_train.object_class[0], in_train.covered[0]) == (True, 1, True)
    assert in_train.strongest[0] == 6  # weak: the background swap checks this flag (instance_evidence)
    assert (in_test.is_issue[0], in_test.object_class[0], in_test.covered[0], in_test.weak[0]) == (
        False,
        -1,
        False,
        True,
    )
    assert np.isnan(in_test.doubt[0])  # the fallback's score stands
    assert in_test.covered[1:].all() and not in_test.weak[1:].any()  # training images are decided as before
    assert InstanceVoteConfig().strong_score == 8
    assert (strong.is_issue[0], strong.object_class[0], strong.weak[0]) == (True, 1, False)  # 10 inliers: overturned
    assert strong.strongest[0] == 10


def test_a_missing_or_corrupt_image_gives_no_keypoints_and_no_error(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    blob_save(key="images/corrupt.jpg", data=b"\xff\xd8\xff\xe0 not really a jpeg")

    for key in ("images/corrupt.jpg", "images/missing.jpg", ""):
        features, swap_image = _features(key)
        assert (len(features.points), features.descriptors.shape, features.thumbnail) == (0, (0, 128), None)
        assert swap_image.mask is None and not swap_image.pixels.any()  # no foreground to paste
