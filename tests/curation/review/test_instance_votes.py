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


def test_a_missing_or_corrupt_image_gives_no_keypoints_and_no_error(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    blob_save(key="images/corrupt.jpg", data=b"\xff\xd8\xff\xe0 not really a jpeg")

    for key in ("images/corrupt.jpg", "images/missing.jpg", ""):
        features = _features(key)
        assert (len(features.points), features.descriptors.shape, features.thumbnail) == (0, (0, 128), None)
