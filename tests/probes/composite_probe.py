"""A held-out probe dataset built WITHOUT Winnow's demo builder: a plain ImageFolder a user could have.

Winnow's findings (near duplicates, label issues, spurious backgrounds, failure slices) are measured
on this probe as well as on the demo, because the demo ships masks, captions and a truth file that
users' datasets do not. Nothing here imports `curation.demo`: the cut-outs are read straight from
Tux Paint's stamp PNGs, the compositing differs (rotation, feathered edges, zoomed background crops,
a colour cast per image, square canvases of one size, a mix of JPEG qualities) and the files carry
no mask and no caption. The truth is written beside the dataset folder, never inside it.

Layout written under `out`:
    out/images/{train,test}/<class>/<name>.jpg   the ImageFolder to import
    out/truth.json                               what was injected (relative paths as imported)

Injected effects (all counts and rates are parameters):
- a spurious background: in train each class sits on "its" background in `own_background_rate` of
  its images; in test backgrounds are drawn uniformly from the whole bank (own ones included), or, with
  `test_owned_background_share`, from the owned ones with that probability and else from the unowned ones;
- hard negatives on purpose: the same object stamp on the same background appears in several
  images at other positions, scales and angles (what an embedding confuses with a copy);
- near-duplicate copies: the same composite re-encoded after a 1-3 px shift, a small crop or
  resize, a mild brightness change and JPEG quality 70-88 (optionally a horizontal flip);
- exact copies: the same bytes under another name in the same class folder;
- wrong labels: a fraction of the images (every split) filed under another class.

Run `python -m tests.probes.composite_probe OUT --seed 7` to write one.
"""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")
BACKGROUNDS_DIR = Path("/usr/share/backgrounds/mate/nature")
SKIPPED_STAMP_WORDS = ("cartoon", "toys", "plastic", "symbols")
# Folders whose sub-folders are kinds of one class (household/tools is household).
ONE_LEVEL_CLASSES = ("clothes", "household", "sports")


@dataclass(frozen=True)
class ProbeConfig:
    """What the probe injects. Defaults give ~520 files, like the probe of the issue that asked for it."""

    seed: int = 7
    classes: int = 6
    images_per_class: int = 75
    side: int = 112
    test_fraction: float = 0.2
    own_background_rate: float = 0.9
    near_duplicates: int = 30
    exact_duplicates: int = 10
    wrong_label_fraction: float = 0.05
    flip_near_duplicates: bool = False
    # None: test backgrounds uniform over the whole bank (every probe so far). A share s: each test image sits on a
    # background some class owns in training with probability s (uniform over those), else on an unowned one.
    test_owned_background_share: float | None = None


@dataclass
class ProbeTruth:
    """Relative paths (as the ImageFolder import records them) and what each one is."""

    config: dict
    classes: list[str]
    class_background: dict[str, str]
    files: dict[str, dict] = field(default_factory=dict)
    near_duplicate_pairs: list[list[str]] = field(default_factory=list)
    exact_duplicate_pairs: list[list[str]] = field(default_factory=list)
    wrong_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def _stamp_folders() -> dict[str, list[Path]]:
    """Stamp PNGs per class: a folder two levels down (animals/mammals, with its sub-folders)."""
    folders: dict[str, list[Path]] = {}
    for png in sorted(STAMPS_DIR.rglob("*.png")):
        parts = png.parent.relative_to(STAMPS_DIR).parts
        relative = "/".join(parts[:1] if parts[0] in ONE_LEVEL_CLASSES else parts[:2])
        if any(word in relative for word in SKIPPED_STAMP_WORDS) or png.with_suffix(".svg").exists():
            continue
        folders.setdefault(relative, []).append(png)
    return {name: paths for name, paths in folders.items() if len(paths) >= 8}


def _cutout(path: Path, max_side: int) -> Image.Image | None:
    """A stamp as RGBA cropped to its alpha, or None for a grey, flat or alpha-less stamp."""
    image = Image.open(path).convert("RGBA")
    alpha = np.asarray(image)[..., 3]
    coverage = (alpha > 127).mean()
    rgb = np.asarray(image)[..., :3][alpha > 127]
    if not 0.05 < coverage < 0.97 or len(rgb) < 100 or float(np.ptp(rgb.astype(int), axis=0).min()) < 40:
        return None
    image = image.crop(image.getbbox())
    image.thumbnail((max_side, max_side))
    return image


def _load_classes(config: ProbeConfig, rng: np.random.Generator) -> dict[str, list[Image.Image]]:
    if not STAMPS_DIR.is_dir():
        raise SystemExit(f"{STAMPS_DIR} is missing: install Debian's tuxpaint-stamps-default (make test does)")
    folders = _stamp_folders()
    names = sorted(folders)
    rng.shuffle(names)
    chosen: dict[str, list[Image.Image]] = {}
    for name in names:
        cutouts = [c for c in (_cutout(p, 256) for p in folders[name]) if c is not None]
        if len(cutouts) >= 8:
            chosen[name.replace("/", "-")] = cutouts
        if len(chosen) == config.classes:
            return dict(sorted(chosen.items()))
    raise SystemExit(f"only {len(chosen)} stamp folders have 8 usable photos; {config.classes} needed")


def _load_backgrounds(count: int, rng: np.random.Generator) -> dict[str, Image.Image]:
    """Background photos: mate-backgrounds' nature set, then scikit-image's photos where short."""
    sources = sorted(BACKGROUNDS_DIR.glob("*.jpg")) + sorted(BACKGROUNDS_DIR.glob("*.png"))
    backgrounds = {p.stem: Image.open(p).convert("RGB") for p in sources}
    if len(backgrounds) < count:
        from skimage import data

        for name in ("coffee", "chelsea", "rocket", "astronaut", "cat", "hubble_deep_field", "immunohistochemistry"):
            backgrounds.setdefault(f"skimage-{name}", Image.fromarray(getattr(data, name)()).convert("RGB"))
    names = sorted(backgrounds)
    rng.shuffle(names)
    if len(names) < count:
        raise SystemExit(f"only {len(names)} backgrounds found; {count} needed")
    return {name: backgrounds[name] for name in names[:count]}


def _background_crop(background: Image.Image, side: int, rng: np.random.Generator) -> Image.Image:
    """A random square crop covering 35-80% of the short side, resized to `side`, with a colour cast."""
    short = min(background.size)
    crop = int(short * rng.uniform(0.35, 0.8))
    x = int(rng.integers(0, background.width - crop + 1))
    y = int(rng.integers(0, background.height - crop + 1))
    tile = background.crop((x, y, x + crop, y + crop)).resize((side, side), Image.Resampling.BILINEAR)
    return ImageEnhance.Color(tile).enhance(float(rng.uniform(0.7, 1.3)))


def _composite(cutout: Image.Image, background: Image.Image, config: ProbeConfig, rng: np.random.Generator):
    canvas = _background_crop(background, config.side, rng)
    scale = rng.uniform(0.45, 0.8) * config.side / max(cutout.size)
    size = (max(8, int(cutout.width * scale)), max(8, int(cutout.height * scale)))
    thing = cutout.resize(size, Image.Resampling.LANCZOS).rotate(float(rng.uniform(-25, 25)), expand=True)
    alpha = thing.getchannel("A").filter(ImageFilter.GaussianBlur(1.2))
    x = int(rng.integers(-thing.width // 6, max(1, config.side - thing.width * 5 // 6)))
    y = int(rng.integers(-thing.height // 6, max(1, config.side - thing.height * 5 // 6)))
    canvas.paste(thing.convert("RGB"), (x, y), alpha)
    return canvas


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _near_copy(image: Image.Image, config: ProbeConfig, rng: np.random.Generator) -> bytes:
    """The same photo after a small shift or crop, a resize, a brightness change and re-encoding."""
    side = image.width
    dx, dy = (int(v) * int(rng.choice([-1, 1])) for v in rng.integers(1, 4, size=2))
    margin = int(rng.integers(0, max(1, side // 20)))
    box = (max(0, dx) + margin, max(0, dy) + margin, side + min(0, dx) - margin, side + min(0, dy) - margin)
    copy = image.crop(box).resize((side, side), Image.Resampling.BICUBIC)
    copy = ImageEnhance.Brightness(copy).enhance(float(rng.uniform(0.92, 1.08)))
    if config.flip_near_duplicates and rng.random() < 0.5:
        copy = copy.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return _jpeg(copy, int(rng.integers(70, 89)))


def _name(rng: np.random.Generator) -> str:
    return rng.bytes(6).hex()


def probe_build(out: Path, config: ProbeConfig = ProbeConfig()) -> ProbeTruth:
    """Write the probe under `out` (images/ and truth.json) and return its truth."""
    rng = np.random.default_rng(config.seed)
    classes = _load_classes(config, rng)
    names = list(classes)
    bank = _load_backgrounds(len(names) + 3, rng)
    bank_names = list(bank)
    owner = dict(zip(names, bank_names, strict=False))
    unowned = bank_names[len(names) :]
    truth = ProbeTruth(config=asdict(config), classes=names, class_background=owner)
    images_dir = out / "images"
    written: list[tuple[str, str, str, Image.Image]] = []  # (path, split, class, pixels)

    for class_name in names:
        for index in range(config.images_per_class):
            split = "test" if index < round(config.images_per_class * config.test_fraction) else "train"
            if split == "train" and rng.random() < config.own_background_rate:
                background = owner[class_name]
            elif split == "test" and config.test_owned_background_share is not None:
                owned = rng.random() < config.test_owned_background_share
                background = str(rng.choice(list(owner.values()) if owned else unowned))
            else:
                background = str(rng.choice(bank_names))
            stamp = int(rng.integers(len(classes[class_name])))
            pixels = _composite(classes[class_name][stamp], bank[background], config, rng)
            given = class_name
            if rng.random() < config.wrong_label_fraction:
                given = str(rng.choice([n for n in names if n != class_name]))
            path = f"{split}/{given}/{_name(rng)}.jpg"
            _write(images_dir / path, _jpeg(pixels, int(rng.integers(88, 97))))
            truth.files[path] = {
                "split": split,
                "class": class_name,
                "given_label": given,
                "background": background,
                "own_background_of": next((c for c, b in owner.items() if b == background), None),
                "stamp": f"{class_name}:{stamp}",
            }
            if given != class_name:
                truth.wrong_labels[path] = {"true": class_name, "given": given}
            written.append((path, split, given, pixels))

    for original in rng.choice(len(written), size=config.near_duplicates, replace=False):
        path, split, given, pixels = written[int(original)]
        copy_path = f"{split}/{given}/{_name(rng)}.jpg"
        _write(images_dir / copy_path, _near_copy(pixels, config, rng))
        truth.files[copy_path] = {**truth.files[path], "near_duplicate_of": path}
        if path in truth.wrong_labels:
            truth.wrong_labels[copy_path] = truth.wrong_labels[path]
        truth.near_duplicate_pairs.append([path, copy_path])

    for original in rng.choice(len(written), size=config.exact_duplicates, replace=False):
        path, split, given, _ = written[int(original)]
        copy_path = f"{split}/{given}/{_name(rng)}.jpg"
        _write(images_dir / copy_path, (images_dir / path).read_bytes())
        truth.files[copy_path] = {**truth.files[path], "exact_duplicate_of": path}
        if path in truth.wrong_labels:
            truth.wrong_labels[copy_path] = truth.wrong_labels[path]
        truth.exact_duplicate_pairs.append([path, copy_path])

    (out / "truth.json").write_text(json.dumps(asdict(truth), indent=1, sort_keys=True))
    return truth


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def probe_truth_load(out: Path) -> ProbeTruth:
    return ProbeTruth(**json.loads((out / "truth.json").read_text()))


def copy_pairs(truth: ProbeTruth) -> set[frozenset[str]]:
    """Every pair of files that are copies of one photo (exact or near), closed transitively.

    An original with both an exact and a near copy makes three files of one photo: all three
    pairs are true duplicates, so a finder is judged against these pairs, not the injected list.
    """
    parent: dict[str, str] = {}

    def root(path: str) -> str:
        while parent.get(path, path) != path:
            path = parent[path]
        return path

    for a, b in truth.near_duplicate_pairs + truth.exact_duplicate_pairs:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for path in parent:
        groups.setdefault(root(path), []).append(path)
    return {frozenset((a, b)) for members in groups.values() for i, a in enumerate(members) for b in members[i + 1 :]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=ProbeConfig.seed)
    parser.add_argument("--images-per-class", type=int, default=ProbeConfig.images_per_class)
    parser.add_argument("--flip-near-duplicates", action="store_true")
    parser.add_argument("--test-owned-background-share", type=float, default=None)
    args = parser.parse_args()
    config = ProbeConfig(
        seed=args.seed,
        images_per_class=args.images_per_class,
        flip_near_duplicates=args.flip_near_duplicates,
        test_owned_background_share=args.test_owned_background_share,
    )
    truth = probe_build(args.out, config)
    counted = ("files", "near_duplicate_pairs", "exact_duplicate_pairs", "wrong_labels")
    counts = {key: len(getattr(truth, key)) for key in counted}
    print(json.dumps({"out": str(args.out), "classes": truth.classes, **counts}))


if __name__ == "__main__":
    main()
