"""Headless Debian Chromium driven by Playwright's sync API against pytest-django's live server.

No browser is downloaded: Playwright launches /usr/bin/chromium with the flags that keep it
offline and quiet (Debian's Chromium; never a browser download).
"""

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image, ImageDraw

from curation.models import Dataset, DatasetVersion, Sample, VersionOperation
from curation.services.ingest import mask_encode, sample_ingest
from frontend.model_choices import ModelChoice
from frontend.pages import embeddings as embedding_pages
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, log_in  # noqa: F401  (re-exported)
from tests.curation.embeddings.conftest import encoder_name, tiny_clip  # noqa: F401  (the tiny open_clip on disk)
from tests.curation.ml.tiny_clip import TINY_ARCH, TinyClip
from tests.factories import DatasetFactory, DatasetVersionFactory, VersionSampleFactory
from tests.worker import celery_worker, worker_job_modules  # noqa: F401  (a real worker for the whole-loop test)

# Each class is drawn as its own shape and colour on a background gradient, so screenshots show
# recognisably different thumbnails; the object's exact shape is the sample's mask.
CLASS_SHAPES = {
    "cat": ((236, 140, 40), "ellipse"),
    "dog": ((60, 110, 220), "rectangle"),
    "bird": ((40, 160, 90), "polygon"),
}


def picture_png(*, label: str, index: int, size: tuple[int, int]) -> tuple[bytes, bytes]:
    """A drawn image of `label` and its object mask, both PNG."""
    width, height = size
    rng = np.random.default_rng(index)
    top, bottom = rng.integers(150, 250, 3), rng.integers(40, 140, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    background = (top * (1 - ramp) + bottom * ramp).repeat(width, axis=1).astype(np.uint8)
    image = Image.fromarray(background)
    mask = Image.new("L", size, 0)
    color, shape = CLASS_SHAPES[label]
    box = (width * 0.22 + index % 5 * 3, height * 0.2, width * 0.78, height * 0.8 - index % 4 * 2)
    for canvas, fill in ((ImageDraw.Draw(image), color), (ImageDraw.Draw(mask), 255)):
        if shape == "polygon":
            canvas.polygon([(box[0], box[3]), ((box[0] + box[2]) / 2, box[1]), (box[2], box[3])], fill=fill)
        else:
            getattr(canvas, shape)(box, fill=fill)
    image_bytes, mask_bytes = io.BytesIO(), io.BytesIO()
    image.save(image_bytes, format="PNG")
    mask.save(mask_bytes, format="PNG")
    return image_bytes.getvalue(), mask_bytes.getvalue()


def picture_sample(*, dataset: Dataset, label: str, index: int, size: tuple[int, int]) -> Sample:
    """A sample stored through the real ingest path (blobs, JPEG thumbnail, mask, alias)."""
    data, mask = picture_png(label=label, index=index, size=size)
    return sample_ingest(
        dataset=dataset,
        data=data,
        original_name=f"{label}/{label}_{index:03d}.png",
        mask_png=mask_encode(mask, size=size),
        caption=f"a drawn {label} on a gradient",
        provenance={"generator": "tests.e2e.picture_png", "index": index, "label": label},
    ).sample


@dataclass(frozen=True)
class BrowseDataset:
    dataset: Dataset
    version: DatasetVersion
    samples_by_label: dict[str, list[int]]


@pytest.fixture
def browse_dataset() -> BrowseDataset:
    """Two versions of a three-class dataset: v1 imports 18 drawn samples, v2 keeps 15 of them."""
    dataset = DatasetFactory(
        name="shapes-demo",
        description="Drawn shapes on gradient backgrounds: a small dataset for the browsing pages.",
        classes=["cat", "dog", "bird"],
    )
    first = DatasetVersionFactory(dataset=dataset, number=1, sample_count=18, operation=VersionOperation.IMPORT)
    second = DatasetVersionFactory(
        dataset=dataset, number=2, parent=first, sample_count=15, operation=VersionOperation.PRUNE, note="kept 15"
    )
    labels = ["cat", "dog", "bird"]
    samples_by_label: dict[str, list[int]] = {label: [] for label in labels}
    for index in range(18):
        label = labels[index % 3]
        size = (96 + index * 12, 80 + (index * 37) % 120)
        sample = picture_sample(dataset=dataset, label=label, index=index, size=size)
        split = ["train", "train", "val", "test"][index % 4]
        VersionSampleFactory(version=first, sample=sample, label=label, split=split)
        if index < 15:
            extra = [{"label": "cat", "origin": "model"}] if label == "dog" and index % 2 else []
            labels_set = [{"label": label, "origin": "import"}, *extra]
            VersionSampleFactory(version=second, sample=sample, label=label, split=split, labels=labels_set)
            samples_by_label[label].append(sample.pk)
    return BrowseDataset(dataset=dataset, version=second, samples_by_label=samples_by_label)


# The whole-loop upload: split/class folders of drawn shapes; two of the train "dog" files are drawn cats
# (wrong labels, so the label proposals have something to find).
LOOP_ZIP_COUNTS = {"train": {"cat": 6, "dog": 6, "bird": 6}, "val": {"cat": 2, "dog": 2, "bird": 2},
                   "test": {"cat": 2, "dog": 2, "bird": 2}}  # fmt: skip
LOOP_MISLABELLED = {("train", "dog"): 2}


def loop_zip() -> bytes:
    """An ImageFolder zip (split/class/file.png) of LOOP_ZIP_COUNTS drawn images, each distinct."""
    buffer, index = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w") as archive:
        for split, counts in LOOP_ZIP_COUNTS.items():
            for label, count in counts.items():
                for position in range(count):
                    drawn = "cat" if position < LOOP_MISLABELLED.get((split, label), 0) else label
                    data, _mask = picture_png(label=drawn, index=index, size=(64, 56))
                    archive.writestr(f"{split}/{label}/{label}_{index:03d}.png", data)
                    index += 1
    return buffer.getvalue()


@pytest.fixture
def offered_tiny_encoder(tiny_clip: TinyClip, settings, monkeypatch) -> str:  # noqa: F811  (the fixture imported above)
    """The embed form offers the tiny open_clip (a local folder under WINNOW_WEIGHTS_ROOTS) first, as it offers
    an encoder whose weights are on this machine; its name. Only the list is the test's: the name is checked,
    allowed and loaded by the same code as any local-folder encoder (the worker needs the same weights root)."""
    name = f"open_clip:{TINY_ARCH}:{tiny_clip.local_dir}"
    settings.WEIGHTS_ROOTS = [str(tiny_clip.local_dir)]
    offered = embedding_pages.encoder_choices

    def with_tiny(user):
        return [ModelChoice(name, True, "tiny test weights on disk"), *offered(user)]

    monkeypatch.setattr(embedding_pages, "encoder_choices", with_tiny)
    return name
