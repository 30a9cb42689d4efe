"""Fixtures for evaluation tests: a tiny labelled version with masks, and a stored small-cnn checkpoint."""

import io
from collections.abc import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from core.storage import blob_key, blob_save, sha256_bytes
from curation.models import DatasetVersion, Sample, VersionSample
from robustness.ml.checkpoints import checkpoint_build, checkpoint_write
from robustness.ml.models import create_model
from robustness.models import TrainedModel
from robustness.services.checkpoints import checkpoint_store
from tests.factories import DatasetFactory, DatasetVersionFactory
from tests.robustness.factories import TrainedModelFactory

SIDE = 40
OBJECT_COLOURS = {"cat": (220, 50, 50), "dog": (50, 220, 50), "bird": (50, 50, 220)}


def _png(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def scene(label: str, index: int) -> tuple[bytes, bytes]:
    """(image PNG, mask PNG): a class-coloured square on a seeded grey texture, SIDE px."""
    rng = np.random.default_rng(index)
    pixels = rng.integers(60, 160, (SIDE, SIDE, 3)).astype(np.uint8)
    top, left = rng.integers(4, 16, 2)
    mask = np.zeros((SIDE, SIDE), np.uint8)
    mask[top : top + 18, left : left + 18] = 255
    pixels[mask > 0] = OBJECT_COLOURS[label]
    return _png(pixels, "RGB"), _png(mask, "L")


def _stored(data: bytes, kind: str) -> str:
    key = blob_key(sha256=sha256_bytes(data), kind=kind, extension="png")
    blob_save(key=key, data=data)
    return key


def add_member(
    version: DatasetVersion, *, label: str, split: str, index: int, with_mask: bool = True, extra: tuple[str, ...] = ()
) -> VersionSample:
    image, mask = scene(label, index)
    sample = Sample.objects.create(
        dataset=version.dataset, sha256=sha256_bytes(image), image_key=_stored(image, "images"),
        thumbnail_key=_stored(image, "thumbnails"), mask_key=_stored(mask, "masks") if with_mask else "",
        width=SIDE, height=SIDE, format="PNG", mode="RGB", file_size=len(image), original_name=f"{label}_{index}.png",
    )  # fmt: skip
    version.sample_count += 1
    version.save(update_fields=["sample_count"])
    labels = [{"label": name, "origin": "import"} for name in (label, *extra)]
    return VersionSample.objects.create(version=version, sample=sample, split=split, label=label, labels=labels)


@pytest.fixture
def eval_version(db) -> Callable[..., DatasetVersion]:
    """`eval_version({"cat": 4, "dog": 4}, split="test", without_mask=1)` → a version with those members."""

    def make(counts: dict[str, int], *, split: str = "test", without_mask: int = 0, dataset=None) -> DatasetVersion:
        dataset = dataset or DatasetFactory(classes=list(OBJECT_COLOURS))
        version = DatasetVersionFactory(dataset=dataset)
        index = 0
        for label, count in counts.items():
            for _ in range(count):
                add_member(version, label=label, split=split, index=index, with_mask=index >= without_mask)
                index += 1
        return version

    return make


def fitted_small_cnn(classes: list[str], img_size: int, steps: int = 30) -> torch.nn.Module:
    """A small CNN fitted for a few steps on clean object colours, so it is mostly right on the test scenes."""
    torch.manual_seed(0)
    model = create_model("small-cnn", len(classes))
    images, labels = [], []
    for c, name in enumerate(classes):
        for index in range(6):
            pixels = np.asarray(Image.open(io.BytesIO(scene(name, 100 + index)[0])).resize((img_size, img_size)))
            images.append(torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255)
            labels.append(c)
    batch, targets = torch.stack(images), torch.tensor(labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(batch), targets).backward()
        optimizer.step()
    return model.eval()


@pytest.fixture
def stored_model(db, tmp_path) -> Callable[..., TrainedModel]:
    """`stored_model(["cat", "dog"], img_size=32, fitted=True)` → a TrainedModel whose checkpoint is in storage."""

    def make(classes: list[str], *, img_size: int = 32, fitted: bool = True, **fields) -> TrainedModel:
        model = fitted_small_cnn(classes, img_size) if fitted else create_model("small-cnn", len(classes)).eval()
        trained = TrainedModelFactory(classes=classes, img_size=img_size, run__classes=classes, **fields)
        path = tmp_path / f"best-{trained.pk}.pt"
        checkpoint = checkpoint_build(model=model, arch="small-cnn", classes=classes, img_size=img_size, epoch=1)
        checkpoint_write(checkpoint, path)
        trained.checkpoint_best_key = trained.checkpoint_last_key = checkpoint_store(
            run_id=trained.run.pk, name=f"best-{trained.pk}", local_path=path
        )
        trained.save(update_fields=["checkpoint_best_key", "checkpoint_last_key"])
        return trained

    return make
