"""What a training run trains and validates on: a version's labelled train and val members, decoded.

Classes are the primary labels present in the train split, in the dataset's taxonomy order (labels
outside the taxonomy after it, alphabetically). Validation is the version's `val` split (members
whose label is not a training class are left out, and counted); a version without one is validated
on a seeded, stratified 20% of its train split, and the run says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from curation.models import DatasetVersion, Sample, Split, VersionSample
from curation.services.ingest import sample_image_open
from robustness.ml.preprocessing import image_to_uint8
from robustness.ml.training import LabelledImages

VAL_FRACTION_WHEN_MISSING = 0.2
DECODE_THREADS = 8
# The decoded training set is held in memory as uint8 (N x 3 x S x S bytes); past this, ask for a smaller size.
MAX_DECODED_BYTES = 8 << 30


class TrainingDataError(ValueError):
    """The version cannot be trained on; the message says why (empty, one class, too large)."""


@dataclass(frozen=True)
class TrainingMember:
    sample_id: int
    image_key: str
    label_index: int


@dataclass(frozen=True)
class TrainingSplit:
    """Which members train and which validate, decided from the rows only (nothing decoded yet)."""

    classes: list[str]
    train: list[TrainingMember]
    val: list[TrainingMember]
    validation: str  # where val came from, for people


def training_classes(version: DatasetVersion) -> list[str]:
    """The classes a model trained on ``version`` predicts, in output order (may have fewer than 2)."""
    present = set(
        VersionSample.objects.filter(version=version, split=Split.TRAIN)
        .exclude(label="")
        .values_list("label", flat=True)
    )
    taxonomy = [name for name in version.dataset.classes if name in present]
    return taxonomy + sorted(present - set(taxonomy))


def training_classes_check(version: DatasetVersion) -> list[str]:
    """``training_classes``, or TrainingDataError when there is nothing (or one class only) to learn."""
    classes = training_classes(version)
    if not classes:
        raise TrainingDataError(f"{version} has no labelled samples in its train split: there is nothing to train on.")
    if len(classes) == 1:
        raise TrainingDataError(
            f"{version} has only one class in its train split ({classes[0]!r}); a classifier needs at least 2."
        )
    return classes


def training_split(version: DatasetVersion, *, seed: int) -> TrainingSplit:
    """Train and validation members of ``version`` (see the module docstring)."""
    classes = training_classes_check(version)
    index = {name: position for position, name in enumerate(classes)}
    rows = (
        VersionSample.objects.filter(version=version, split__in=[Split.TRAIN, Split.VAL])
        .exclude(label="")
        .order_by("sample_id")
        .values_list("sample_id", "sample__image_key", "label", "split")
    )
    train: list[TrainingMember] = []
    val: list[TrainingMember] = []
    unknown_in_val = 0
    for sample_id, image_key, label, split in rows:
        if label not in index:
            unknown_in_val += 1
            continue
        member = TrainingMember(sample_id, image_key, index[label])
        (train if split == Split.TRAIN else val).append(member)
    if val:
        note = f"val split ({len(val)} samples)"
        if unknown_in_val:
            note += f"; {unknown_in_val} val samples of classes absent from train left out"
        return TrainingSplit(classes, train, val, note)
    train, val = _stratified_holdout(train, len(classes), seed)
    note = f"no val split: a seeded {round(100 * VAL_FRACTION_WHEN_MISSING)}% of train (seed {seed})"
    if not val:
        train, val, note = train, train, "no val split and too few samples to hold some out: validated on train"
    return TrainingSplit(classes, train, val, note)


def _stratified_holdout(
    members: list[TrainingMember], class_count: int, seed: int
) -> tuple[list[TrainingMember], list[TrainingMember]]:
    """Hold out VAL_FRACTION_WHEN_MISSING of each class (rounded, none from a class of one), seeded."""
    generator = torch.Generator().manual_seed(seed)
    train: list[TrainingMember] = []
    val: list[TrainingMember] = []
    for class_index in range(class_count):
        of_class = [member for member in members if member.label_index == class_index]
        order = torch.randperm(len(of_class), generator=generator).tolist()
        held = round(VAL_FRACTION_WHEN_MISSING * len(of_class)) if len(of_class) > 1 else 0
        val += [of_class[position] for position in order[:held]]
        train += [of_class[position] for position in order[held:]]
    return sorted(train, key=_by_sample), sorted(val, key=_by_sample)


def _by_sample(member: TrainingMember) -> int:
    return member.sample_id


def decoded_bytes(count: int, img_size: int) -> int:
    return count * 3 * img_size * img_size


def members_decode(
    members: list[TrainingMember], *, img_size: int, on_decoded: Callable[[int], None] | None = None
) -> LabelledImages:
    """Decode ``members`` from storage (threads) into uint8 (N, 3, S, S) images and their labels.

    Args:
        members: what to decode, in order; img_size: the square size (shorter side, centre crop).
        on_decoded: called with the count decoded so far, every 64 images and at the end.
    """
    if decoded_bytes(len(members), img_size) > MAX_DECODED_BYTES:
        gib = decoded_bytes(len(members), img_size) / 2**30
        raise TrainingDataError(
            f"{len(members)} images at {img_size} px take {gib:.1f} GiB decoded; use a smaller --img-size"
        )
    images = torch.empty((len(members), 3, img_size, img_size), dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        decoded = pool.map(lambda member: _decode(member.image_key, img_size), members)
        for position, image in enumerate(decoded):
            images[position] = image
            if on_decoded is not None and ((position + 1) % 64 == 0 or position + 1 == len(members)):
                on_decoded(position + 1)
    labels = torch.tensor([member.label_index for member in members], dtype=torch.long)
    return LabelledImages(images, labels)


def _decode(image_key: str, img_size: int) -> torch.Tensor:
    # An unsaved Sample carries the key: the ingest service owns how a stored image is opened (EXIF).
    return image_to_uint8(sample_image_open(Sample(image_key=image_key)), img_size)


def decode_units(count: int, batch_size: int) -> int:
    """Progress units of decoding ``count`` images: one per batch, like a training step."""
    return math.ceil(count / batch_size)
