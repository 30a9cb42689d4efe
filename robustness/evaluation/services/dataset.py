"""The evaluation set: a version's members of one split, as the model sees them.

Choices made:
- Labels map to the model's outputs by class name, so the order of classes does not matter; a
  member whose primary label the model cannot predict makes the whole evaluation invalid
  (`evaluation_classes_check`), found by one query before any image is read.
- Members without a primary label are left out and counted.
- Images are decoded through `sample_image_open` and resized exactly as in training (the
  model's Preprocessing: shorter side, centre crop), kept as uint8 N×S×S×3 for the corruptions.
- Synthetic samples (source "synthetic", e.g. approved counter-examples) are left out unless
  `include_synthetic` is asked for, and counted: a model is measured on real images by default.
- Group labels come from the demo's ground truth when the version descends from a demo version:
  "class / own background" or "class / other background" per sample (matched by sha256).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from core.api_errors import ApplicationError
from core.storage import blob_read
from curation.demo.truth import truth_by_sha256, truth_loads
from curation.models import DatasetVersion, Sample, SampleSource, Split, VersionSample
from curation.services.ingest import sample_image_open

if TYPE_CHECKING:  # torch loads when a set is decoded, not when the evaluation or explain APIs are imported
    from robustness.ml.preprocessing import Preprocessing

SPLIT_AUTO_ORDER = (Split.TEST, Split.VAL)
ALL_SPLITS = "all"


@dataclass
class EvaluationSet:
    """What the suites evaluate: images at the model's size and the labels as output indices."""

    classes: list[str]
    sample_ids: np.ndarray
    images: np.ndarray
    targets: np.ndarray
    label_sets: list[set[int]]
    groups: list[str | None] | None = None
    own_background: list[bool | None] | None = None
    backgrounds: list[str | None] | None = None
    unlabeled_skipped: int = 0
    synthetic_excluded: int = 0
    samples: list[Sample] = field(default_factory=list)
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.sample_ids):
            self.positions = np.arange(len(self.sample_ids))

    def __len__(self) -> int:
        return len(self.sample_ids)

    def subset(self, max_samples: int | None, *, seed: int) -> EvaluationSet:
        """A seeded subset of at most `max_samples` (in sample order); `positions` index this set."""
        if max_samples is None or len(self) <= max_samples:
            return self
        keep = np.sort(np.random.default_rng([seed, 2]).choice(len(self), size=max_samples, replace=False))

        def pick(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in keep]

        return EvaluationSet(
            classes=self.classes,
            sample_ids=self.sample_ids[keep],
            images=self.images[keep],
            targets=self.targets[keep],
            label_sets=[self.label_sets[i] for i in keep],
            groups=pick(self.groups),
            own_background=pick(self.own_background),
            backgrounds=pick(self.backgrounds),
            samples=[self.samples[i] for i in keep],
            positions=self.positions[keep],
        )


def _members(version: DatasetVersion, split: str) -> list[VersionSample]:
    members = VersionSample.objects.filter(version=version)
    if split != ALL_SPLITS:
        members = members.filter(split=split)
    return list(members.select_related("sample").order_by("sample_id"))


def evaluation_split_resolve(*, version: DatasetVersion, split: str) -> str:
    """'auto' is the test split when the version has one, else val, else every member ('all')."""
    if split != "auto":
        if split != ALL_SPLITS and split not in Split.values:
            raise ApplicationError(f"Unknown split {split!r}.", code="invalid_params")
        return split
    present = set(VersionSample.objects.filter(version=version).values_list("split", flat=True).distinct())
    return next((s.value for s in SPLIT_AUTO_ORDER if s in present), ALL_SPLITS)


def evaluation_classes_check(*, version: DatasetVersion, split: str, classes: list[str]) -> int:
    """Raise ApplicationError `classes_mismatch` when members carry labels the model cannot predict.

    Returns the number of labelled members of the split (an empty split is `empty_split`).
    """
    members = VersionSample.objects.filter(version=version).exclude(label="")
    if split != ALL_SPLITS:
        members = members.filter(split=split)
    labels = set(members.values_list("label", flat=True).distinct())
    unknown = sorted(labels - set(classes))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        message = (
            f"The model's classes do not match version {version.number} of {version.dataset.name!r}: "
            f"it cannot predict {shown} (model classes: {', '.join(classes)}). "
            "Evaluate it on a version labelled with the classes it was trained on."
        )
        details = {"model_classes": classes, "unknown_labels": unknown}
        raise ApplicationError(message, code="classes_mismatch", details=details)
    count = members.count()
    if count == 0:
        where = "any" if split == ALL_SPLITS else f"the {split} split"
        raise ApplicationError(f"Version {version.number} has no labelled samples in {where}.", code="empty_split")
    return count


def demo_truth_key(version: DatasetVersion) -> str | None:
    """The demo truth document's key of `version` or of the nearest ancestor that has one."""
    current: DatasetVersion | None = version
    while current is not None:
        key = (current.operation_params or {}).get("truth_key")
        if key:
            return str(key)
        current = current.parent
    return None


def demo_truth_records(version: DatasetVersion) -> dict[str, dict] | None:
    """Truth record per sha256 for a version of the demo dataset, else None."""
    key = demo_truth_key(version)
    if key is None:
        return None
    try:  # one read, not exists() and a read that the document may have gone before
        document = blob_read(key)
    except FileNotFoundError:
        return None
    return {sha: records[0] for sha, records in truth_by_sha256(truth_loads(document)).items()}


def _select(members: list[VersionSample], max_samples: int | None, seed: int) -> list[VersionSample]:
    if max_samples is None or len(members) <= max_samples:
        return members
    chosen = np.sort(np.random.default_rng(seed).choice(len(members), size=max_samples, replace=False))
    return [members[i] for i in chosen]


def evaluation_set_load(
    *,
    version: DatasetVersion,
    split: str,
    classes: list[str],
    preprocessing: Preprocessing,
    max_samples: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    include_synthetic: bool = False,
) -> EvaluationSet:
    """Decode and resize the labelled members of `split` (a seeded subset of `max_samples` if given).

    Synthetic samples are left out (and counted in `synthetic_excluded`) unless `include_synthetic`.
    """
    index = {name: i for i, name in enumerate(classes)}
    all_members = _members(version, split)
    synthetic = [m for m in all_members if m.sample.source == SampleSource.SYNTHETIC]
    if synthetic and not include_synthetic:
        all_members = [m for m in all_members if m.sample.source != SampleSource.SYNTHETIC]
    labelled = [m for m in all_members if m.label]
    members = _select(labelled, max_samples, seed)
    size = preprocessing.img_size
    images = np.zeros((len(members), size, size, 3), dtype=np.uint8)
    for i, member in enumerate(members):
        images[i] = preprocessing.image_uint8(sample_image_open(member.sample)).permute(1, 2, 0).numpy()
        if progress is not None and (i + 1) % 50 == 0:
            progress(i + 1, len(members))
    evaluation_set = EvaluationSet(
        classes=classes,
        sample_ids=np.array([m.sample_id for m in members], dtype=np.int64),
        images=images,
        targets=np.array([index[m.label] for m in members], dtype=np.int64),
        label_sets=[{index[name] for name in m.label_names if name in index} for m in members],
        unlabeled_skipped=len(all_members) - len(labelled),
        synthetic_excluded=0 if include_synthetic else len(synthetic),
        samples=[m.sample for m in members],
    )
    _attach_demo_groups(evaluation_set, version, members)
    return evaluation_set


def _attach_demo_groups(evaluation_set: EvaluationSet, version: DatasetVersion, members: list[VersionSample]) -> None:
    records = demo_truth_records(version)
    if records is None:
        return
    found = [records.get(m.sample.sha256) for m in members]
    evaluation_set.own_background = [r["own_background"] if r else None for r in found]
    evaluation_set.backgrounds = [r["background"] if r else None for r in found]
    evaluation_set.groups = [
        f"{r['class']} / {'own' if r['own_background'] else 'other'} background" if r else None for r in found
    ]


def sample_mask_load(sample: Sample, size: int) -> np.ndarray | None:
    """The sample's stored object mask resized like its image (bool size×size), or None without one."""
    from robustness.ml.preprocessing import image_to_uint8  # noqa: PLC0415 - torch: a job's work

    if not sample.mask_key:
        return None
    mask = Image.open(io.BytesIO(blob_read(sample.mask_key)))
    mask.load()
    return image_to_uint8(mask.convert("L"), size)[0].numpy() > 127
