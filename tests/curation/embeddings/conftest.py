"""Fixtures of the embeddings tests: a tiny open_clip saved to disk, versions of small real images."""

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from core.storage import blob_key, blob_save, sha256_bytes
from curation.embeddings.models import EmbeddingSet
from curation.embeddings.services.embedding_jobs import EMBED_JOB_KIND, EmbedParams
from curation.models import DatasetVersion, Sample, SampleAlias, VersionSample
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.curation.embeddings import encoders_for_tests  # noqa: F401  (registers the test encoder families)
from tests.curation.ml.tiny_clip import TINY_ARCH, TinyClip, build_tiny_clip
from tests.factories import DatasetVersionFactory
from tests.worker import celery_worker  # noqa: F401


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def encoder_name(tiny_clip: TinyClip) -> str:
    """The tiny model through the production path: a local folder with its open_clip config and weights
    (a worker process loads it without the arch being registered there)."""
    return f"open_clip:{TINY_ARCH}:{tiny_clip.local_dir}"


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.curation.embeddings.encoders_for_tests"


def noise_png(seed: int, size: tuple[int, int] = (40, 32)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def add_member(version: DatasetVersion, data: bytes, *, name: str, label: str = "cat", split: str = "train") -> Sample:
    """Store ``data`` as a sample of the version's dataset and make it a member of the version."""
    digest = sha256_bytes(data)
    with Image.open(io.BytesIO(data)) as image:
        width, height, image_format = image.width, image.height, image.format or "PNG"
    extension = image_format.lower()
    keys = {kind: blob_key(sha256=digest, kind=kind, extension=extension) for kind in ("images", "thumbnails")}
    for key in keys.values():
        blob_save(key=key, data=data)
    sample = Sample.objects.create(
        dataset=version.dataset, sha256=digest, image_key=keys["images"], thumbnail_key=keys["thumbnails"],
        original_name=name, width=width, height=height, format=image_format, mode="RGB", file_size=len(data),
    )  # fmt: skip
    labels = [{"label": label, "origin": "import"}] if label else []
    VersionSample.objects.create(version=version, sample=sample, split=split, label=label, labels=labels)
    DatasetVersion.objects.filter(pk=version.pk).update(sample_count=version.members.count())
    return sample


@pytest.fixture
def make_version(db) -> Callable[..., DatasetVersion]:
    """make_version(n) -> a version with n members, each a different noise image (seeds 0..n-1)."""

    def make(count: int, *, seed_offset: int = 0) -> DatasetVersion:
        version = DatasetVersionFactory(number=1)
        for index in range(count):
            add_member(version, noise_png(seed_offset + index), name=f"img_{index:03d}.png")
        version.refresh_from_db()
        return version

    return make


def media_path(settings, key: str) -> Path:
    return Path(settings.MEDIA_ROOT) / key


def embed(version: DatasetVersion, encoder_name: str, **options: object) -> EmbeddingSet:
    """Run the `embed` job in this process and return its ready set."""
    params = EmbedParams(version_id=version.pk, encoder=encoder_name, dispatch=False, **options)  # type: ignore[arg-type]
    job = job_execute(job_create(kind=EMBED_JOB_KIND, params=params.as_job_params(), requested_by=None).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return EmbeddingSet.objects.get(job=job)


@pytest.fixture(scope="session")
def other_encoder_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Another tiny open_clip (other weights): a different encoder of the same width."""
    other = build_tiny_clip(tmp_path_factory.mktemp("other-tiny-clip"), seed=1)
    return f"open_clip:{TINY_ARCH}:{other.local_dir}"


def pattern_png(seed: int, *, note: str = "") -> bytes:
    """A smooth colour pattern; `note` changes the bytes (a PNG text chunk) but not the pixels."""
    small = np.random.default_rng(seed).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((64, 48), Image.Resampling.BICUBIC)
    info = PngImagePlugin.PngInfo()
    if note:
        info.add_text("note", note)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.fixture
def version_with_copies(db):
    """Six patterns; patterns 1 and 4 also stored again with other bytes and the same pixels; pattern 2's
    bytes imported under a second file name (an exact duplicate: one sample, two aliases)."""
    version = DatasetVersionFactory(number=1)
    samples = [add_member(version, pattern_png(seed), name=f"p{seed}.png") for seed in range(6)]
    copies = [add_member(version, pattern_png(seed, note="copy"), name=f"p{seed}-copy.png") for seed in (1, 4)]
    for sample in samples + copies:
        SampleAlias.objects.create(dataset=version.dataset, sample=sample, original_name=sample.original_name)
    SampleAlias.objects.create(dataset=version.dataset, sample=samples[2], original_name="again/p2.png")
    return version, samples, copies
