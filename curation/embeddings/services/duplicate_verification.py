"""Reading what pixel verification needs: the stored thumbnails of many samples, in batches.

The import stores a JPEG thumbnail (THUMBNAIL_SIZE, 160 px on its longest side) of every sample;
verification compares 64 px grey squares, so the thumbnail is enough and the originals are never read.
Sample rows are fetched VERIFY_READ_BATCH ids at a time and the blobs read and decoded by a few threads
(file reads and JPEG decoding release the GIL).
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from core.storage import blob_read
from curation.models import Sample

VERIFY_READ_BATCH = 1000
READ_THREADS = 4


def _thumbnail(key: str) -> np.ndarray | None:
    from curation.ml.similarity.verify import verification_thumbnail  # noqa: PLC0415 - cv2, faiss: loaded on first use, not at start-up

    if not key:
        return None
    try:
        with Image.open(io.BytesIO(blob_read(key))) as image:
            return verification_thumbnail(image)
    except (OSError, ValueError):
        return None  # gone or unreadable: the pair cannot be verified


def verification_thumbnails_read(sample_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(thumbnails (n, side, side) float32, readable (n,) bool) of ``sample_ids``, in their order; an unreadable
    sample gets a zero thumbnail and readable False."""
    from curation.ml.similarity.verify import VERIFY_SIDE  # noqa: PLC0415 - cv2, faiss: loaded on first use, not at start-up

    ids = np.asarray(sample_ids, dtype=np.int64)
    thumbs = np.zeros((len(ids), VERIFY_SIDE, VERIFY_SIDE), dtype=np.float32)
    readable = np.zeros(len(ids), dtype=bool)
    with ThreadPoolExecutor(READ_THREADS) as pool:
        for start in range(0, len(ids), VERIFY_READ_BATCH):
            batch = ids[start : start + VERIFY_READ_BATCH]
            keys = dict(Sample.objects.filter(pk__in=batch.tolist()).values_list("pk", "thumbnail_key"))
            for offset, thumb in enumerate(pool.map(_thumbnail, [keys.get(int(i), "") for i in batch])):
                if thumb is not None:
                    thumbs[start + offset], readable[start + offset] = thumb, True
    return thumbs, readable
