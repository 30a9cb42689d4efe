"""Same-object matching (curation.ml.similarity.instances): one object photo pasted on other backgrounds is a pair,
two crops of one background photo without a shared object are not (even where the foreground estimate spilled
onto the background), a re-encoded copy is a copy."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from curation.ml.similarity.instances import (
    SIDE,
    background_agreement,
    instance_pairs,
    local_features,
    object_score,
)
from curation.review.ml.instance_votes import InstanceVoteConfig

COPY_THRESHOLD = 0.68  # the pixel verifier's measured constant


def object_photo(pixels: np.ndarray | None = None, side: int = 70) -> Image.Image:
    """A textured object cut to an ellipse (alpha): by default the astronaut's face and suit."""
    pixels = data.astronaut()[40:240, 120:320] if pixels is None else pixels
    photo = Image.fromarray(pixels).resize((side, side), Image.Resampling.LANCZOS)
    alpha = Image.new("L", photo.size, 0)
    from PIL import ImageDraw

    ImageDraw.Draw(alpha).ellipse((2, 2, side - 3, side - 3), fill=255)
    photo.putalpha(alpha)
    return photo


def background(name: str, box: tuple[int, int, int, int]) -> Image.Image:
    pixels = getattr(data, name)()
    image = Image.fromarray(pixels).convert("RGB")
    return image.crop(box).resize((112, 112), Image.Resampling.BILINEAR)


def paste(back: Image.Image, thing: Image.Image, *, angle: float, at: tuple[int, int]) -> np.ndarray:
    canvas = back.copy()
    turned = thing.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    canvas.paste(turned, at, turned)
    return np.asarray(canvas)


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    thing = object_photo()
    return {
        "on_coffee": paste(background("coffee", (0, 0, 400, 400)), thing, angle=12, at=(20, 25)),
        "on_rocket": paste(background("rocket", (50, 0, 400, 350)), thing, angle=-15, at=(35, 20)),
        "chelsea_a": np.asarray(background("chelsea", (0, 0, 300, 300))),
        "chelsea_b": np.asarray(background("chelsea", (100, 60, 300, 260))),
        "on_coffee_copy": jpeg(paste(background("coffee", (0, 0, 400, 400)), thing, angle=12, at=(20, 25)), 75),
    }


def test_one_object_photo_on_two_backgrounds_is_a_pair_and_background_crops_are_not(images):
    names = ["on_coffee", "on_rocket", "chelsea_a", "chelsea_b"]
    found = instance_pairs([local_features(images[n]) for n in names], copy_threshold=COPY_THRESHOLD)

    scores = {(names[i], names[j]): s for i, j, s in found.pairs.tolist()}
    assert scores.get(("on_coffee", "on_rocket"), 0) >= 8
    # a shared background photo, no rotation, no object: at most a chance transform among the leftovers, under the
    # least score a vote counts
    assert scores.get(("chelsea_a", "chelsea_b"), 0) < InstanceVoteConfig().min_score
    assert found.copies.size == 0


def test_a_reencoded_copy_is_reported_as_a_copy_not_as_a_partner(images):
    names = ["on_coffee", "on_coffee_copy", "on_rocket"]
    found = instance_pairs([local_features(images[n]) for n in names], copy_threshold=COPY_THRESHOLD)

    assert found.copies.tolist() == [[0, 1]]
    assert not any({i, j} == {0, 1} for i, j, _ in found.pairs.tolist())


def test_an_unrotated_transform_off_the_foreground_is_no_object():
    background_match = {"inliers": 40, "foreground_share": 0.1, "scale": 1.3, "rotation": 0.4}
    rotated = {"inliers": 9, "foreground_share": 0.0, "scale": 1.1, "rotation": 14.0}
    on_object = {"inliers": 7, "foreground_share": 0.9, "scale": 1.0, "rotation": 0.0}

    assert object_score([background_match]) == 0
    assert object_score([background_match, rotated]) == 9
    assert object_score([on_object, rotated]) == 9
    assert object_score([{**rotated, "scale": 3.0}]) == 0
    # checked and found to move the background too: no object, rotated or not; under the bar it still counts
    assert object_score([{**on_object, "background": 0.9}, {**rotated, "background": 0.75}]) == 0
    assert object_score([{**on_object, "background": 0.9}, {**rotated, "background": 0.2}]) == 9


def test_images_without_keypoints_give_no_pairs():
    flat = np.full((64, 64, 3), 128, dtype=np.uint8)
    features = [local_features(flat), local_features(flat)]

    assert len(features[0].points) == 0
    assert instance_pairs(features, copy_threshold=COPY_THRESHOLD).pairs.shape == (0, 3)


def spilled(pixels: np.ndarray, thing: Image.Image, at: tuple[int, int]):
    """Local features whose foreground estimate spilled over the whole frame (every keypoint "on the object"),
    with the pasted object's true outline as the mask, in the SIDE frame."""
    outline = Image.new("L", (pixels.shape[1], pixels.shape[0]), 0)
    outline.paste(thing.getchannel("A"), at)
    mask = np.asarray(outline.resize((SIDE, SIDE), Image.Resampling.NEAREST)) > 127
    features = local_features(pixels)
    return dataclasses.replace(features, foreground=np.ones(len(features.points), bool), mask=mask)


def test_two_crops_of_one_background_with_other_objects_are_no_pair_even_when_the_foreground_spilled():
    astronaut, cup = object_photo(side=40), object_photo(data.coffee()[100:350, 150:400], side=40)
    first = paste(background("chelsea", (0, 0, 300, 300)), astronaut, angle=0, at=(4, 60))
    second = paste(background("chelsea", (100, 60, 300, 260)), cup, angle=0, at=(66, 6))
    features = [spilled(first, astronaut, (4, 60)), spilled(second, cup, (66, 6))]
    unchecked = [dataclasses.replace(f, grey=None) for f in features]  # what the rule saw before: no agreement check

    checked = instance_pairs(features, copy_threshold=COPY_THRESHOLD).pairs
    before = instance_pairs(unchecked, copy_threshold=COPY_THRESHOLD).pairs

    strong = InstanceVoteConfig().strong_score
    assert before.shape[0] == 1 and before[0, 2] >= 5 * strong  # the spilled foreground made the crops an "object"
    # the background moved with it: no object; at most a chance transform among the leftovers, never a strong one
    assert checked.shape[0] == 0 or checked[0, 2] < strong


def test_background_agreement_is_high_when_the_frame_moved_and_low_when_only_the_object_did(images):
    thing = object_photo()
    on_coffee = paste(background("coffee", (0, 0, 400, 400)), thing, angle=0, at=(20, 25))
    on_rocket = paste(background("rocket", (50, 0, 400, 350)), thing, angle=0, at=(30, 35))
    same_photo = local_features(images["on_coffee"])
    coffee, rocket = local_features(on_coffee), local_features(on_rocket)
    identity = np.float32([[1, 0, 0], [0, 1, 0]])
    object_shift = np.float32([[1, 0, 20], [0, 1, 20]])  # 10 px at 112 = 20 px at SIDE: where the object went

    assert background_agreement(same_photo, same_photo, identity) > 0.95
    assert background_agreement(coffee, rocket, object_shift) < 0.3
    assert background_agreement(dataclasses.replace(coffee, grey=None), coffee, identity) == 0.0
    outline_less = dataclasses.replace(same_photo, mask=None)  # no foreground estimate: the frame could be the object
    assert background_agreement(outline_less, outline_less, identity) == 0.0
