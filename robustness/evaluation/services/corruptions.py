"""The corruption suite: accuracy per (corruption, severity), with corrupted sets cached in storage.

A corrupted set depends on the version's images, the corruption, the severity, the seed and the
input size, and on which samples were evaluated; its key names all of them
(`evaluation/corrupted/v<version>/<size>px-seed<seed>-<digest of sample ids>/<corruption>-s<severity>.npz`),
so a second run of any model with the same input size reads the set instead of corrupting again.
Each image is corrupted with its own seed derived from its sample id, so a subset or another
order gives the same pixels. The file is an .npz of `sample_ids` and `images` (uint8 N×S×S×3).
"""

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.storage import blob_read, blob_save
from robustness.evaluation.services.dataset import EvaluationSet
from robustness.evaluation.services.inference import ExampleWriter
from robustness.ml.corruptions import corrupt_images

CACHE_PREFIX = "evaluation/corrupted"


@dataclass(frozen=True)
class CorruptionCacheKey:
    version_id: int
    corruption: str
    severity: int
    seed: int
    size: int
    sample_digest: str

    @property
    def storage_key(self) -> str:
        folder = f"{CACHE_PREFIX}/v{self.version_id}/{self.size}px-seed{self.seed}-{self.sample_digest}"
        return f"{folder}/{self.corruption}-s{self.severity}.npz"


def sample_digest(sample_ids: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(sample_ids, dtype=np.int64).tobytes()).hexdigest()[:16]


def _npz_bytes(sample_ids: np.ndarray, images: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, sample_ids=sample_ids, images=images)
    return buffer.getvalue()


def corrupted_set(evaluation_set: EvaluationSet, key: CorruptionCacheKey) -> tuple[np.ndarray, bool]:
    """The corrupted images for `key` (from the cache when present) and whether it was a cache hit."""
    try:  # a cache miss costs one request (a GET on object storage), not exists() and then the read
        cached = blob_read(key.storage_key)
    except FileNotFoundError:
        cached = None
    if cached is not None:
        with np.load(io.BytesIO(cached)) as stored:
            if np.array_equal(stored["sample_ids"], evaluation_set.sample_ids):
                return stored["images"], True
    images = corrupt_images(
        evaluation_set.images,
        name=key.corruption,
        severity=key.severity,
        seed=key.seed,
        image_keys=evaluation_set.sample_ids.tolist(),
    )
    blob_save(key=key.storage_key, data=_npz_bytes(evaluation_set.sample_ids, images))
    return images, False


def corruption_results(
    evaluation_set: EvaluationSet,
    *,
    version_id: int,
    corruptions: list[str],
    severities: list[int],
    seed: int,
    predict: Callable[[np.ndarray], np.ndarray],
    examples: ExampleWriter,
    clean_accuracy: float,
    step: Callable[[str], None],
) -> dict[str, Any]:
    """Accuracy and error per corruption and severity; `step(message)` runs after each set (progress)."""
    size = evaluation_set.images.shape[1]
    digest = sample_digest(evaluation_set.sample_ids)
    table: dict[str, dict[str, dict[str, float]]] = {}
    hits, started = 0, time.monotonic()
    examples.save("corruptions/original", evaluation_set.images[0])
    for name in corruptions:
        table[name] = {}
        for severity in severities:
            key = CorruptionCacheKey(version_id, name, severity, seed, size, digest)
            images, hit = corrupted_set(evaluation_set, key)
            hits += hit
            accuracy = float((predict(images).argmax(axis=1) == evaluation_set.targets).mean())
            table[name][str(severity)] = {"accuracy": accuracy, "error": 1.0 - accuracy}
            examples.save(f"corruptions/{name}/{severity}", images[0])
            step(f"{name} severity {severity}: accuracy {accuracy:.3f}")
    return {
        "seed": seed,
        "severities": severities,
        "corruptions": table,
        "clean_error": 1.0 - clean_accuracy,
        "mean_accuracy": float(np.mean([c["accuracy"] for row in table.values() for c in row.values()])),
        "cache": {"hits": hits, "sets": len(corruptions) * len(severities)},
        "seconds": round(time.monotonic() - started, 2),
        "example_sample_id": int(evaluation_set.sample_ids[0]),
    }
