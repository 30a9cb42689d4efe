import io
from collections.abc import Callable

import pytest
import torch
from PIL import Image

from core.storage import blob_key, blob_save, sha256_bytes
from curation.models import DatasetVersion, Sample, VersionSample
from tests.factories import DatasetFactory, DatasetVersionFactory
from tests.robustness import models_for_tests  # noqa: F401  (registers the test-only architectures)
from tests.worker import celery_worker  # noqa: F401

# Two shared cores: one intra-op thread avoids oversubscription stalls (tiny models gain nothing from more).
torch.set_num_threads(1)

CLASS_COLOURS = {"cat": (200, 40, 40), "dog": (40, 200, 40), "bird": (40, 40, 200)}


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.robustness.models_for_tests"


def coloured_png(colour: tuple[int, int, int], index: int, size: int = 20) -> bytes:
    """A class-coloured square with a seeded noise pattern (distinct bytes for every index)."""
    generator = torch.Generator().manual_seed(index)
    noise = torch.randint(-40, 41, (size, size, 3), generator=generator)
    pixels = (torch.tensor(colour).view(1, 1, 3) + noise).clamp(0, 255).to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def add_member(version: DatasetVersion, *, label: str, split: str, index: int) -> VersionSample:
    data = coloured_png(CLASS_COLOURS[label], index)
    digest = sha256_bytes(data)
    key = blob_key(sha256=digest, kind="images", extension="png")
    blob_save(key=key, data=data)
    sample = Sample.objects.create(
        dataset=version.dataset, sha256=digest, image_key=key, thumbnail_key=key, width=20, height=20,
        format="PNG", mode="RGB", file_size=len(data), original_name=f"{label}_{index}.png",
    )  # fmt: skip
    version.sample_count += 1
    version.save(update_fields=["sample_count"])
    return VersionSample.objects.create(
        version=version, sample=sample, split=split, label=label, labels=[{"label": label, "origin": "import"}]
    )


@pytest.fixture
def labelled_version(db) -> Callable[..., DatasetVersion]:
    """`labelled_version(train={"cat": 12, "dog": 12}, val={"cat": 4, "dog": 4})` -> a version with those members."""

    def make(train: dict[str, int], val: dict[str, int] | None = None) -> DatasetVersion:
        version = DatasetVersionFactory(dataset=DatasetFactory(classes=list(CLASS_COLOURS)))
        index = 0
        for split, counts in (("train", train), ("val", val or {})):
            for label, count in counts.items():
                for _ in range(count):
                    add_member(version, label=label, split=split, index=index)
                    index += 1
        return version

    return make
