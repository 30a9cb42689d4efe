"""Rows for pruning tests: versions with many samples (bulk, no image blobs) and embedding sets whose
.npy files are written through the storage API, as the embeddings app stores them."""

import io
import uuid

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.storage import sha256_bytes
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.models import Dataset, DatasetVersion, Sample, VersionOperation, VersionSample
from tests.factories import DatasetFactory


def version_with_samples(
    n: int,
    *,
    labels: list[str] | None = None,
    splits: list[str] | None = None,
    dataset: Dataset | None = None,
    number: int = 1,
) -> DatasetVersion:
    """Version `number` of a (new) dataset with n samples (ids ascending), labels and splits cycled."""
    dataset = dataset or DatasetFactory()
    labels = labels or ["cat", "dog"]
    splits = splits or ["train"]
    samples = Sample.objects.bulk_create(
        [
            Sample(
                dataset=dataset,
                sha256=f"{uuid.uuid4().hex}{i:08d}"[:64].ljust(64, "0"),
                image_key=f"images/test/{i}.png",
                thumbnail_key=f"thumbnails/test/{i}.png",
                original_name=f"img_{i:05d}.png",
                width=32,
                height=24,
                format="PNG",
                mode="RGB",
                file_size=100,
            )
            for i in range(n)
        ]
    )
    version = DatasetVersion.objects.create(
        dataset=dataset, number=number, operation=VersionOperation.IMPORT, sample_count=n
    )
    VersionSample.objects.bulk_create(
        [
            VersionSample(
                version=version,
                sample=sample,
                split=splits[i % len(splits)],
                label=labels[i % len(labels)],
                labels=[{"label": labels[i % len(labels)], "origin": "import"}],
            )
            for i, sample in enumerate(samples)
        ]
    )
    return version


def member_ids(version: DatasetVersion) -> np.ndarray:
    return np.asarray(
        list(VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True)),
        dtype=np.int64,
    )


def stored_files(prefix: str) -> list[str]:
    """Every file under a storage folder, recursively."""
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix}/{name}" for name in files] + [p for f in folders for p in stored_files(f"{prefix}/{f}")]


def _npy_save(key: str, array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array)
    saved = default_storage.save(key, ContentFile(buffer.getvalue()))
    return saved


def _stored_sha256(key: str) -> str:
    with default_storage.open(key, "rb") as handle:
        return sha256_bytes(handle.read())


def embedding_set_create(
    *,
    version: DatasetVersion,
    vectors: np.ndarray,
    sample_ids: np.ndarray | None = None,
    status: str = EmbeddingSetStatus.READY,
    encoder_name: str = "test:pixels",
) -> EmbeddingSet:
    """A ready EmbeddingSet of `version` whose rows are `vectors` (float16 on disk) for `sample_ids`
    (default: the version's members in id order)."""
    sample_ids = member_ids(version) if sample_ids is None else np.asarray(sample_ids, dtype=np.int64)
    matrix = np.asarray(vectors, dtype=np.float16)
    folder = f"embeddings/test/{uuid.uuid4().hex}"
    embeddings_key = _npy_save(f"{folder}/embeddings.npy", matrix)
    row_ids_key = _npy_save(f"{folder}/row_ids.npy", sample_ids)
    checksum, row_ids_checksum = (_stored_sha256(key) for key in (embeddings_key, row_ids_key))
    return EmbeddingSet.objects.create(
        dataset=version.dataset,
        version=version,
        encoder_name=encoder_name,
        encoder_spec={"name": encoder_name},
        dim=matrix.shape[1],
        status=status,
        planned_rows=matrix.shape[0],
        rows=matrix.shape[0],
        embeddings_key=embeddings_key,
        row_ids_key=row_ids_key,
        checksum=checksum,
        row_ids_checksum=row_ids_checksum,
    )


def clustered_vectors(
    sizes: list[int], d: int = 16, *, spread: list[float] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows around len(sizes) random centres (per-cluster spread), and each row's true cluster."""
    rng = np.random.default_rng(seed)
    spread = spread or [0.3] * len(sizes)
    centres = rng.standard_normal((len(sizes), d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[truth] + rng.standard_normal((truth.size, d)) * np.asarray(spread)[truth, None] / np.sqrt(d)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), truth


class PruningWorld:
    """A cluster run and a prune run of a version (for the permission matrix), built once per world."""

    def __init__(self, version: DatasetVersion):
        from curation.pruning.services.clustering import cluster_run_create
        from curation.pruning.services.params import cluster_params_validate, prune_params_validate
        from curation.pruning.services.pruning import prune_run_create

        n = version.members.count()
        vectors = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
        self.embedding_set = embedding_set_create(version=version, vectors=vectors)
        self.cluster_run = cluster_run_create(
            params=cluster_params_validate(version_id=version.pk, embedding_set_id=self.embedding_set.pk, n_clusters=1)
        )
        self.prune_run = prune_run_create(
            params=prune_params_validate(version_id=version.pk, method="random", keep_fraction=1.0)
        )


def pruning_world(world: object) -> PruningWorld:
    """The PruningWorld of a permission-matrix World (created on first use, kept on the world)."""
    if getattr(world, "pruning", None) is None:
        world.pruning = PruningWorld(world.version)  # type: ignore[attr-defined]
    return world.pruning  # type: ignore[attr-defined]
