"""Where the demo's pixels come from: object cut-outs (stamps) and background photos.

Objects: Tux Paint's photo stamps (Debian `tuxpaint-stamps-default`): a PNG whose alpha channel
is the object mask, and a sibling `.txt` whose first line is the English caption (the other
lines are translations; `.dat` holds flags such as `colorable` or `nomirror`). A class is a
stamp folder (`animals/mammals`, `food/fruit`, …) searched recursively. Only photo-like stamps
are kept: no `cartoon`/`toys`/`plastic` folder, no `.svg` twin, not `colorable`/`tintable`,
colour (not grey) with at least 200 distinct colours, and a real alpha (object 5–95% of it).

Fallback, when the stamps are missing or too few: seven object classes cut out of the photos
that scikit-image and scikit-learn ship, with masks from simple segmentations (GrabCut from a
fixed rectangle, Otsu thresholding for the coins, "not background colour" for the colour wheel
and the logo). Fewer stamps per class, but honest objects with real masks.

Backgrounds: mate-backgrounds' nature photos when present, always plus scikit-image's grass,
brick and gravel textures (tinted, they are grey), moon, Hubble deep field and
immunohistochemistry images, and scikit-learn's china photo.
"""

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

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


def _crop_to_alpha(rgba: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(rgba[..., 3].any(axis=1))
    cols = np.flatnonzero(rgba[..., 3].any(axis=0))
    return rgba[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _limit_side(rgba: np.ndarray, max_side: int = MAX_STAMP_SIDE) -> np.ndarray:
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
    rgba = _crop_to_alpha(rgba)
    if max(rgba.shape[:2]) < MIN_STAMP_SIDE:
        return None
    caption = png.with_suffix(".txt").read_text(errors="replace").splitlines()[0]
    return ObjectStamp(
        class_name=class_name,
        stamp_id=png.relative_to(root).as_posix(),
        phrase=stamp_phrase(caption),
        rgba=_limit_side(rgba),
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


# --- pip fallback objects ---------------------------------------------------------------------


# GrabCut rectangles (x, y, w, h) around each fallback object, in the original image's pixels.
ASTRONAUT, CHELSEA, COFFEE, DAHLIA = (40, 0, 340, 512), (60, 10, 300, 290), (100, 20, 350, 360), (50, 10, 490, 400)
BLACK, WHITE = (0, 0, 0), (255, 255, 255)


def sklearn_sample_image(name: str) -> np.ndarray:
    """A photo from scikit-learn's `datasets/images` (read directly: importing sklearn costs seconds)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("scikit-learn is not installed")
    with Image.open(Path(spec.origin).parent / "datasets" / "images" / name) as image:
        return np.asarray(image.convert("RGB"))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    return ndimage.binary_fill_holes(labels == 1 + int(np.argmax(sizes)))


def _rgba(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return _limit_side(_crop_to_alpha(np.dstack([rgb, mask.astype(np.uint8) * 255])))


def grabcut_cutout(rgb: np.ndarray, rect: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """GrabCut initialised from `rect` (x, y, w, h, in full-size pixels) on a downscaled copy → RGBA."""
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    labels = np.zeros(small.shape[:2], np.uint8)
    background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    small_rect = tuple(int(v * scale) for v in rect)
    bgr = small[..., ::-1].copy()
    cv2.grabCut(bgr, labels, small_rect, background_model, foreground_model, 4, cv2.GC_INIT_WITH_RECT)
    mask = _largest_component((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD))
    return _rgba(small, mask)


def _coin_cutouts(gray: np.ndarray) -> list[np.ndarray]:
    from skimage.filters import threshold_otsu

    mask = ndimage.binary_opening(gray > threshold_otsu(gray), iterations=2)
    labels, _ = ndimage.label(ndimage.binary_fill_holes(mask))
    rgb = np.dstack([gray] * 3)
    cutouts = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        touches_border = box[0].start == 0 or box[1].start == 0
        if min(height, width) >= 30 and max(height, width) <= 80 and not touches_border:
            cutouts.append(_rgba(rgb[box], labels[box] == index))
    return cutouts


def _not_background(rgb: np.ndarray, background: tuple[int, int, int], tolerance: int) -> np.ndarray:
    """Every pixel away from a flat background colour (specks removed, holes filled)."""
    distance = np.abs(rgb.astype(np.int16) - np.array(background, dtype=np.int16)).max(axis=-1)
    return _rgba(rgb, ndimage.binary_fill_holes(ndimage.binary_opening(distance > tolerance, iterations=2)))


def _astronaut() -> list[np.ndarray]:
    from skimage import data

    return [grabcut_cutout(data.astronaut(), ASTRONAUT, 0.35)]


def _chelsea() -> list[np.ndarray]:
    from skimage import data

    return [grabcut_cutout(data.chelsea(), CHELSEA, 0.6)]


def _coffee() -> list[np.ndarray]:
    from skimage import data

    return [grabcut_cutout(data.coffee(), COFFEE, 0.4)]


def _dahlia() -> list[np.ndarray]:
    return [grabcut_cutout(sklearn_sample_image("flower.jpg"), DAHLIA, 0.4)]


def _coins() -> list[np.ndarray]:
    from skimage import data

    return _coin_cutouts(data.coins())


def _colour_wheel() -> list[np.ndarray]:
    from skimage import data

    return [_not_background(data.colorwheel(), BLACK, 12)]


def _logo() -> list[np.ndarray]:
    from skimage import data

    return [_not_background(data.logo()[..., :3], WHITE, 24)]


# (class, source image, caption phrase, cut-out maker) for each fallback class.
FALLBACK_OBJECTS: list[tuple[str, str, str, Callable[[], list[np.ndarray]]]] = [
    ("person", "skimage.data.astronaut", "an astronaut", _astronaut),
    ("cat", "skimage.data.chelsea", "a cat's face", _chelsea),
    ("cup", "skimage.data.coffee", "a cup of coffee", _coffee),
    ("flower", "sklearn.datasets:flower.jpg", "a dahlia", _dahlia),
    ("coin", "skimage.data.coins", "an old coin", _coins),
    ("colour wheel", "skimage.data.colorwheel", "a colour wheel", _colour_wheel),
    ("logo", "skimage.data.logo", "the scikit-image logo", _logo),
]


def fallback_stamps() -> dict[str, list[ObjectStamp]]:
    """Seven object classes cut out of the photos that scikit-image and scikit-learn ship."""
    classes: dict[str, list[ObjectStamp]] = {}
    for class_name, source_id, phrase, cut in FALLBACK_OBJECTS:
        cutouts = cut()
        classes[class_name] = [
            ObjectStamp(class_name, source_id if len(cutouts) == 1 else f"{source_id}#{i}", phrase, rgba)
            for i, rgba in enumerate(cutouts)
        ]
    return classes


# --- backgrounds ------------------------------------------------------------------------------


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
    from skimage import data

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
