"""What every demo file shows, decided from the seed before any pixel is drawn.

Planning choices (the ground truth follows from them exactly, no sampling noise in counts):
- Files = base composites + near-duplicate variants + exact copies; the two duplicate counts
  are round(rate × size), the rest are base composites.
- Base composites are class-balanced (round-robin) and split per class by rounding
  (train = round(0.70·n), val = round(0.15·n), test = the rest).
- Each class owns one background, drawn by the seed from the bank. In train, exactly
  round(own_background_rate × n) of a class's base composites use it, the others one of the
  remaining backgrounds uniformly; in val and test every background is drawn uniformly from
  the whole bank, so the correlation breaks.
- round(multi_object_rate × bases) composites get a second, smaller object of another class.
- A near duplicate re-renders its source composite and applies one small change (pixel jitter,
  a JPEG re-encode at lower quality, or a brightness change); an exact duplicate is the same
  bytes under another name. Sources of both are distinct base composites, so each group is a
  pair, and copies keep their source's split, label and background.
- Label noise hits round(label_noise_rate × distinct train images) single-object train images
  (bases and near variants), drawn before exact copies are made: a copy carries its source's
  label, as Winnow stores identical bytes once.
- File names are `demo_00000.jpg`… in a seeded shuffle, so neither order nor name leaks truth.
"""

from dataclasses import asdict, dataclass, replace

import numpy as np

from curation.demo.sources import DemoSources

SPLITS = ("train", "val", "test")
NEAR_DUPLICATE_TRANSFORMS = ("jitter", "jpeg", "brightness")


@dataclass(frozen=True)
class DemoConfig:
    """Everything that decides the demo's content; the same config and sources give the same bytes."""

    seed: int = 0
    size: int = 1500
    train_fraction: float = 0.70
    val_fraction: float = 0.15
    own_background_rate: float = 0.9
    label_noise_rate: float = 0.05
    exact_duplicate_rate: float = 0.02
    near_duplicate_rate: float = 0.04
    multi_object_rate: float = 0.08
    min_side: int = 128
    max_side: int = 224
    jpeg_quality: int = 90

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def check(self, class_count: int) -> None:
        """Raise ValueError with a one-line reason when the config cannot be built."""
        rates = (self.own_background_rate, self.label_noise_rate, self.multi_object_rate)
        if not all(0.0 <= r <= 1.0 for r in rates):
            raise ValueError("rates must lie between 0 and 1")
        if self.exact_duplicate_rate + self.near_duplicate_rate > 0.5:
            raise ValueError("exact and near duplicate rates together must not exceed 0.5")
        if not (self.train_fraction > 0 and self.val_fraction >= 0 and self.train_fraction + self.val_fraction < 1):
            raise ValueError("train and val fractions must leave room for a test split")
        if not 16 <= self.min_side <= self.max_side:
            raise ValueError("image sides must satisfy 16 ≤ min_side ≤ max_side")
        if self.size < 6 * class_count:
            raise ValueError(f"size must be at least {6 * class_count} (6 images per class)")


@dataclass(frozen=True)
class PlannedImage:
    """One file to render. `objects` is ((class, stamp index), …), the primary object first."""

    content_id: int
    class_name: str
    split: str
    background_id: str
    own_background: bool
    objects: tuple[tuple[str, int], ...]
    width: int
    height: int
    render_seed: int
    label: str = ""
    near_transform: str = ""
    variant_seed: int = 0
    exact_duplicate_group: int | None = None
    near_duplicate_group: int | None = None
    file_name: str = ""

    @property
    def is_noisy(self) -> bool:
        return self.label != self.class_name

    @property
    def true_labels(self) -> list[str]:
        return list(dict.fromkeys(class_name for class_name, _ in self.objects))


@dataclass(frozen=True)
class DemoPlan:
    config: DemoConfig
    classes: list[str]
    class_backgrounds: dict[str, str]
    images: list[PlannedImage]


def demo_plan(config: DemoConfig, sources: DemoSources) -> DemoPlan:
    """Decide every file of the demo from `config.seed` (see the module comment for the rules)."""
    classes = sources.classes
    config.check(len(classes))
    if len(sources.backgrounds) < len(classes):
        raise ValueError(f"{len(sources.backgrounds)} backgrounds for {len(classes)} classes: need one per class")
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(sources.backgrounds))[: len(classes)]
    class_backgrounds = {c: sources.backgrounds[int(i)].background_id for c, i in zip(classes, order, strict=True)}
    exact_count = round(config.size * config.exact_duplicate_rate)
    near_count = round(config.size * config.near_duplicate_rate)
    bases = _base_images(config, sources, config.size - exact_count - near_count, rng)
    bases = _with_backgrounds(bases, config, sources, class_backgrounds, rng)
    bases = _with_second_objects(bases, config, sources, rng)
    sources_of_copies = rng.choice(len(bases), size=exact_count + near_count, replace=False)
    bases, near = _near_duplicates(bases, [int(i) for i in sources_of_copies[exact_count:]], rng)
    images = _with_label_noise([*bases, *near], config, classes, rng)
    images, exact = _exact_duplicates(images, [int(i) for i in sources_of_copies[:exact_count]])
    return DemoPlan(config, classes, class_backgrounds, _named([*images, *exact], rng))


def _split_of(rank: int, count: int, config: DemoConfig) -> str:
    train_end = round(count * config.train_fraction)
    val_end = train_end + round(count * config.val_fraction)
    return "train" if rank < train_end else "val" if rank < val_end else "test"


def _base_images(config: DemoConfig, sources: DemoSources, count: int, rng: np.random.Generator) -> list[PlannedImage]:
    classes = sources.classes
    per_class = [len(range(i, count, len(classes))) for i in range(len(classes))]
    images: list[PlannedImage] = []
    for class_name, class_count in zip(classes, per_class, strict=True):
        ranks = rng.permutation(class_count)
        for rank in ranks:
            images.append(
                PlannedImage(
                    content_id=len(images),
                    class_name=class_name,
                    split=_split_of(int(rank), class_count, config),
                    background_id="",
                    own_background=False,
                    objects=((class_name, int(rng.integers(len(sources.stamps[class_name])))),),
                    width=int(rng.integers(config.min_side, config.max_side + 1)),
                    height=int(rng.integers(config.min_side, config.max_side + 1)),
                    render_seed=int(rng.integers(2**63)),
                    label=class_name,
                )
            )
    return images


def _with_backgrounds(
    images: list[PlannedImage],
    config: DemoConfig,
    sources: DemoSources,
    class_backgrounds: dict[str, str],
    rng: np.random.Generator,
) -> list[PlannedImage]:
    bank = [b.background_id for b in sources.backgrounds]
    result = list(images)
    for class_name, own in class_backgrounds.items():
        train = [i for i, image in enumerate(images) if image.class_name == class_name and image.split == "train"]
        on_own = set(rng.permutation(train)[: round(len(train) * config.own_background_rate)].tolist())
        others = [b for b in bank if b != own]
        for i in train:
            background = own if i in on_own else others[int(rng.integers(len(others)))]
            result[i] = replace(images[i], background_id=background, own_background=background == own)
    for i, image in enumerate(images):
        if image.split != "train":
            background = bank[int(rng.integers(len(bank)))]
            own = class_backgrounds[image.class_name]
            result[i] = replace(image, background_id=background, own_background=background == own)
    return result


def _with_second_objects(
    images: list[PlannedImage], config: DemoConfig, sources: DemoSources, rng: np.random.Generator
) -> list[PlannedImage]:
    chosen = rng.choice(len(images), size=round(len(images) * config.multi_object_rate), replace=False)
    result = list(images)
    for i in sorted(int(c) for c in chosen):
        others = [c for c in sources.classes if c != images[i].class_name]
        second = others[int(rng.integers(len(others)))]
        stamp = int(rng.integers(len(sources.stamps[second])))
        result[i] = replace(images[i], objects=(*images[i].objects, (second, stamp)))
    return result


def _near_duplicates(
    images: list[PlannedImage], chosen: list[int], rng: np.random.Generator
) -> tuple[list[PlannedImage], list[PlannedImage]]:
    """(the images with their group marked, one variant per chosen image)."""
    bases, variants = list(images), []
    for group, i in enumerate(chosen):
        bases[i] = replace(bases[i], near_duplicate_group=group)
        variants.append(
            replace(
                bases[i],
                content_id=len(bases) + group,
                near_transform=NEAR_DUPLICATE_TRANSFORMS[group % len(NEAR_DUPLICATE_TRANSFORMS)],
                variant_seed=int(rng.integers(2**63)),
            )
        )
    return bases, variants


def _with_label_noise(
    images: list[PlannedImage], config: DemoConfig, classes: list[str], rng: np.random.Generator
) -> list[PlannedImage]:
    train_count = sum(1 for image in images if image.split == "train")
    eligible = [i for i, image in enumerate(images) if image.split == "train" and len(image.objects) == 1]
    count = min(len(eligible), round(train_count * config.label_noise_rate))
    result = list(images)
    for i in sorted(int(c) for c in rng.choice(eligible, size=count, replace=False)):
        wrong = [c for c in classes if c != images[i].class_name]
        result[i] = replace(images[i], label=wrong[int(rng.integers(len(wrong)))])
    return result


def _exact_duplicates(images: list[PlannedImage], chosen: list[int]) -> tuple[list[PlannedImage], list[PlannedImage]]:
    """(the images with their group marked, one identical copy per chosen image)."""
    originals, copies = list(images), []
    for group, i in enumerate(chosen):
        originals[i] = replace(originals[i], exact_duplicate_group=group)
        copies.append(originals[i])
    return originals, copies


def _named(images: list[PlannedImage], rng: np.random.Generator) -> list[PlannedImage]:
    order = rng.permutation(len(images))
    return [replace(images[int(i)], file_name=f"demo_{position:05d}.jpg") for position, i in enumerate(order)]
