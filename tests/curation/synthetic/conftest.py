"""Fixtures of the synthetic tests: the tiny Stable Diffusion folder (built once per session) and a small
labelled version whose samples have object masks (or not)."""

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from curation.models import DatasetVersion, Sample
from tests.curation.synthetic.tiny_sd import tiny_sd_pipeline_write
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory
from tests.worker import celery_worker, worker_job_modules  # noqa: F401

CLASSES = ["cat", "dog"]
MASK_BOX = (8, 6, 24, 18)  # inside the factories' 32×24 images


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_sd_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-init SD pipeline saved to disk; tests load it through `diffusers:<folder>`."""
    return tiny_sd_pipeline_write(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture
def tiny_generator_name(tiny_sd_folder: Path) -> str:
    return f"diffusers:{tiny_sd_folder}"


@dataclass
class SmallVersion:
    version: DatasetVersion
    samples: dict[str, list[Sample]]


def small_version(*, per_class: int = 2, masked: bool = True, test_per_class: int = 1) -> SmallVersion:
    """A version with `per_class` train samples per class (masked or not) and a few test samples."""
    dataset = DatasetFactory(classes=list(CLASSES))
    version = DatasetVersionFactory(dataset=dataset, number=1)
    samples: dict[str, list[Sample]] = {cls: [] for cls in CLASSES}
    for cls in CLASSES:
        for _ in range(per_class):
            sample = SampleFactory(dataset=dataset, mask_box=MASK_BOX if masked else None)
            VersionSampleFactory(version=version, sample=sample, label=cls, split="train")
            samples[cls].append(sample)
        for _ in range(test_per_class):
            VersionSampleFactory(version=version, sample=SampleFactory(dataset=dataset), label=cls, split="test")
    version.sample_count = len(CLASSES) * (per_class + test_per_class)
    version.save(update_fields=["sample_count"])
    return SmallVersion(version, samples)


@pytest.fixture
def masked_version(db) -> SmallVersion:
    return small_version(masked=True)


@pytest.fixture
def unmasked_version(db) -> SmallVersion:
    return small_version(masked=False)
