"""Where the demo's pixels come from: object cut-outs (stamps) and background photos.

Objects: Tux Paint's photo stamps (Debian `tuxpaint-stamps-default`): a PNG whose alpha channel
is the object mask, and a sibling `.txt` whose first line is the English caption (the other
lines are translations; `.dat` holds flags such as `colorable` or `nomirror`). A class is a
stamp folder (`animals/mammals`, `food/fruit`, …) searched recursively. Only photo-like stamps
are kept: no `cartoon`/`toys`/`plastic` folder, no `.svg` twin, not `colorable`/`tintable`,
colour (not grey) with at least 200 distinct colours, and a real alpha (object 5–95% of it).

Fallback, when the stamps are missing or too few: object classes cut out of the photos that
scikit-image and scikit-learn ship (`curation.demo.fallback`).

Backgrounds: mate-backgrounds' nature photos when present, always plus scikit-image's grass,
brick and gravel textures (tinted, they are grey), moon, Hubble deep field and
immunohistochemistry images, and scikit-learn's china photo.
"""

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

TUXPAINT_STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")
MATE_BACKGROUNDS_DIR = Path("/usr/share/backgrounds/mate/nature")
OBJECT_SOURCE_TUXPAINT = "tuxpaint-stamps-default"
OBJECT_SOURCE_FALLBACK = "pip-fallback"

STAMP_CLASS_FOLDERS: dict[str, str] = {
    "mammals": "animals/mammals",
    "birds": "animals/birds",
    "fish": "animals/fish",
    "insects": "animals/insects",
    "fruit": "food/fruit",
    "vegetables": "food/vegetables",
    "flowers": "plants/flowers",
}
EXCLUDED_STAMP_FOLDERS = {"cartoon", "toys", "plastic"}
NON_PHOTO_FLAGS = {"colorable", "tintable"}
MIN_CLASSES = 6
MIN_STAMPS_PER_CLASS = 5
MIN_DISTINCT_COLOURS = 200
MIN_STAMP_SIDE = 40
MAX_STAMP_SIDE = 256
BACKGROUND_SHORT_SIDE = 320


@dataclass(frozen=True, eq=False)
class ObjectStamp:
    """One cut-out: RGBA pixels cropped to the object, and the words for a caption."""

    class_name: str
    stamp_id: str
    phrase: str
    rgba: np.ndarray
    mirror_allowed: bool = True


@dataclass(frozen=True, eq=False)
class Background:
    background_id: str
    description: str
    rgb: np.ndarray


@dataclass(frozen=True, eq=False)
class DemoSources:
    """Stamps per class (classes in display order), the background bank, and where they came from."""

    stamps: dict[str, list[ObjectStamp]]
    backgrounds: list[Background]
    object_source: str
    background_sources: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return list(self.stamps)

    def background(self, background_id: str) -> Background:
        return next(b for b in self.backgrounds if b.background_id == background_id)


def demo_sources_load(*, stamps_dir: Path | None = None, backgrounds_dir: Path | None = None) -> DemoSources:
    """Object stamps and backgrounds for the demo, falling back to pip-shipped images.

    Args:
        stamps_dir: Tux Paint's stamps folder (default /usr/share/tuxpaint/stamps).
        backgrounds_dir: a folder of background JPEGs (default mate-backgrounds' nature folder).
    """
    stamps_dir = stamps_dir or TUXPAINT_STAMPS_DIR
    backgrounds_dir = backgrounds_dir or MATE_BACKGROUNDS_DIR
    notes: list[str] = []
    stamps = tuxpaint_stamps(stamps_dir) if stamps_dir.is_dir() else {}
    object_source = OBJECT_SOURCE_TUXPAINT
    if len(stamps) < MIN_CLASSES:
        found = f"only {len(stamps)} of {MIN_CLASSES} needed classes have ≥ {MIN_STAMPS_PER_CLASS} photo stamps"
        found = found if stamps_dir.is_dir() else "missing"
        notes.append(f"tuxpaint stamps at {stamps_dir}: {found}; objects come from the pip fallback")
        from curation.demo.fallback import fallback_stamps  # noqa: PLC0415 - cv2: loaded on first use, not at start-up

        stamps, object_source = fallback_stamps(), OBJECT_SOURCE_FALLBACK
    backgrounds = folder_backgrounds(backgrounds_dir) if backgrounds_dir.is_dir() else []
    background_sources = [f"folder:{backgrounds_dir}"] if backgrounds else []
    if not backgrounds:
        notes.append(f"no background photos at {backgrounds_dir}; backgrounds come from pip packages only")
    backgrounds += pip_backgrounds()
    background_sources += ["scikit-image", "scikit-learn"]
    return DemoSources(stamps, backgrounds, object_source, background_sources, notes)


# --- Tux Paint stamps -------------------------------------------------------------------------


def stamp_phrase(caption: str) -> str:
    """'A badger.' → 'a badger', 'Two flowers.' → 'two flowers'; other captions are kept as written."""
    text = " ".join(caption.split()).rstrip(".!")
    first, _, rest = text.partition(" ")
    if first in ("A", "An", "The", "Two", "Some") and rest:
        return f"{first.lower()} {rest}"
    return text


def _stamp_flags(png: Path) -> set[str]:
    dat = png.with_suffix(".dat")
    return set(dat.read_text(errors="replace").split()) if dat.exists() else set()


def _stamp_is_candidate(png: Path, root: Path) -> bool:
    folders = set(png.relative_to(root).parts[:-1])
    return (
        not folders & EXCLUDED_STAMP_FOLDERS
        and not png.with_suffix(".svg").exists()
        and png.with_suffix(".txt").exists()
        and not _stamp_flags(png) & NON_PHOTO_FLAGS
    )


def crop_to_alpha(rgba: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(rgba[..., 3].any(axis=1))
    cols = np.flatnonzero(rgba[..., 3].any(axis=0))
    return rgba[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def limit_side(rgba: np.ndarray, max_side: int = MAX_STAMP_SIDE) -> np.ndarray:
    height, width = rgba.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return rgba
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgba, mode="RGBA").resize(size, Image.Resampling.LANCZOS))


def _is_photo_like(image: Image.Image, rgba: np.ndarray) -> bool:
    if image.mode in ("L", "LA", "1", "I", "I;16"):
        return False
    opaque = rgba[..., 3] > 127
    coverage = float(opaque.mean())
    if not 0.05 <= coverage <= 0.95:
        return False
    colours = np.unique((rgba[opaque][:, :3] // 8).astype(np.uint32) @ np.array([1024, 32, 1], dtype=np.uint32))
    return len(colours) >= MIN_DISTINCT_COLOURS


def _tuxpaint_stamp(png: Path, root: Path, class_name: str) -> ObjectStamp | None:
    image = Image.open(png)
    rgba = np.asarray(image.convert("RGBA"))
    if not _is_photo_like(image, rgba):
        return None
    rgba = crop_to_alpha(rgba)
    if max(rgba.shape[:2]) < MIN_STAMP_SIDE:
        return None
    caption = png.with_suffix(".txt").read_text(errors="replace").splitlines()[0]
    return ObjectStamp(
        class_name=class_name,
        stamp_id=png.relative_to(root).as_posix(),
        phrase=stamp_phrase(caption),
        rgba=limit_side(rgba),
        mirror_allowed="nomirror" not in _stamp_flags(png),
    )


def tuxpaint_stamps(root: Path) -> dict[str, list[ObjectStamp]]:
    """Photo stamps per class folder, keeping classes with at least MIN_STAMPS_PER_CLASS stamps."""
    classes: dict[str, list[ObjectStamp]] = {}
    for class_name, folder in STAMP_CLASS_FOLDERS.items():
        pngs = sorted((root / folder).rglob("*.png"))
        stamps = [_tuxpaint_stamp(p, root, class_name) for p in pngs if _stamp_is_candidate(p, root)]
        kept = [s for s in stamps if s is not None]
        if len(kept) >= MIN_STAMPS_PER_CLASS:
            classes[class_name] = kept
    return classes


# --- backgrounds ------------------------------------------------------------------------------


def sklearn_sample_image(name: str) -> np.ndarray:
    """A photo from scikit-learn's `datasets/images` (read directly: importing sklearn costs seconds)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("scikit-learn is not installed")
    with Image.open(Path(spec.origin).parent / "datasets" / "images" / name) as image:
        return np.asarray(image.convert("RGB"))


def _shrink(image: Image.Image, short_side: int = BACKGROUND_SHORT_SIDE) -> np.ndarray:
    scale = short_side / min(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("RGB"))


def _words(stem: str) -> str:
    """'GreenMeadow' → 'green meadow'."""
    spaced = "".join(f" {c}" if c.isupper() and i else c for i, c in enumerate(stem.replace("_", " ")))
    return " ".join(spaced.lower().split())


def folder_backgrounds(folder: Path) -> list[Background]:
    """Every JPEG/PNG in `folder`, decoded at reduced size (JPEG draft mode), sorted by name."""
    backgrounds = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        with Image.open(path) as image:
            image.draft("RGB", (BACKGROUND_SHORT_SIDE * 2, BACKGROUND_SHORT_SIDE * 2))
            rgb = _shrink(image)
        backgrounds.append(Background(f"{folder.name}:{path.stem}", _words(path.stem), rgb))
    return backgrounds


def _tinted(gray: np.ndarray, tint: tuple[int, int, int]) -> np.ndarray:
    return (gray[..., None].astype(np.float32) / 255.0 * np.array(tint, dtype=np.float32)).astype(np.uint8)


def pip_backgrounds() -> list[Background]:
    """Textures and photos shipped inside the scikit-image and scikit-learn wheels."""
    from skimage import data  # noqa: PLC0415 - skimage: loaded on first use, not at start-up

    images = [
        ("skimage:grass", "grass", _tinted(data.grass(), (120, 200, 80))),
        ("skimage:brick", "brick wall", _tinted(data.brick(), (205, 120, 90))),
        ("skimage:gravel", "gravel", _tinted(data.gravel(), (200, 190, 165))),
        ("skimage:moon", "moon surface", _tinted(data.moon(), (225, 225, 235))),
        ("skimage:hubble_deep_field", "starry sky", data.hubble_deep_field()),
        ("skimage:immunohistochemistry", "stained tissue", data.immunohistochemistry()),
        ("sklearn:china", "temple", sklearn_sample_image("china.jpg")),
    ]
    return [Background(bid, words, _shrink(Image.fromarray(rgb))) for bid, words, rgb in images]
