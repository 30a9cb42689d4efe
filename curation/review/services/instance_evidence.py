"""Same-object evidence for label issues: read the members' images, match objects across them, vote.

The images are read from storage in batches of READ_BATCH ids (each decoded once, by READ_THREADS threads:
decoding, SIFT and GrabCut release the GIL) and reduced to local features (curation.ml.similarity.instances);
the pairs they give decide the label issues of the images they cover (curation.review.ml.instance_votes).
Runs of more than INSTANCE_LIMIT members skip it (matching grows with the square of the descriptors, ~0.15 s
per image at 500 images on 2 cores) and say so.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from core.storage import blob_read
from curation.models import Sample
from curation.review.ml import instance_votes
from curation.review.ml import proposals as ml

INSTANCE_LIMIT = 5000
READ_BATCH = 500
READ_THREADS = 2

Progress = Callable[[str], None]


def _features(key: str) -> Any:
    from curation.ml.similarity.instances import LocalFeatures, local_features  # noqa: PLC0415 - cv2/faiss in jobs only

    try:
        with Image.open(io.BytesIO(blob_read(key))) as image:
            pixels = np.asarray(image.convert("RGB"))
        return local_features(pixels)
    except (OSError, ValueError):  # gone or unreadable: no keypoints, no evidence
        empty = np.zeros((0, 2), np.float32)
        return LocalFeatures(empty, np.zeros((0, 128), np.float32), np.zeros(0, bool), None)


def instance_features_read(sample_ids: np.ndarray) -> list[Any]:
    """Local features of ``sample_ids``' images, in their order (an unreadable image has none)."""
    ids = np.asarray(sample_ids, dtype=np.int64)
    features: list[Any] = []
    with ThreadPoolExecutor(READ_THREADS) as pool:
        for start in range(0, len(ids), READ_BATCH):
            batch = ids[start : start + READ_BATCH]
            keys = dict(Sample.objects.filter(pk__in=batch.tolist()).values_list("pk", "image_key"))
            features += list(pool.map(_features, [keys.get(int(i), "") for i in batch]))
    return features


def with_instance_evidence(
    outcome: ml.SplitLabelIssues,
    labels: np.ndarray,
    sample_ids: np.ndarray,
    mode: str,
    report: Progress,
    held_out: np.ndarray | None = None,
) -> tuple[ml.SplitLabelIssues, np.ndarray, np.ndarray, dict[str, Any]]:
    """(outcome with covered images decided by their same-object partners, the class chosen per image (-1 where
    uncovered), partners per image, the summary's "instances" entry). held_out: (N,) bool, images of held-out
    splits (instance_votes: weak partners do not overturn their labels)."""
    from curation.embeddings.services.duplicate_calibration import VERIFY_THRESHOLD  # noqa: PLC0415 - one constant
    from curation.ml.similarity.instances import instance_pairs  # noqa: PLC0415 - cv2/faiss in jobs only

    none = np.full(labels.size, -1), np.zeros(labels.size, dtype=int)
    if mode == "no":
        return outcome, *none, {"ran": False, "reason": "not asked (instances=no)"}
    if labels.size > INSTANCE_LIMIT:
        reason = f"{labels.size:,} members: more than {INSTANCE_LIMIT:,}, same-object matching skipped"
        return outcome, *none, {"ran": False, "reason": reason}
    started = time.monotonic()
    report("reading images for same-object matching")
    features = instance_features_read(sample_ids)
    report("matching objects across images")
    found = instance_pairs(features, copy_threshold=VERIFY_THRESHOLD)
    votes = instance_votes.instance_label_issues(
        labels, outcome.probabilities, found.pairs, found.copies, outcome.is_issue, held_out=held_out
    )
    decided = dataclasses.replace(
        outcome,
        is_issue=votes.is_issue,
        is_shift=outcome.is_shift & ~votes.is_issue,
        issue_score=np.where(votes.covered, votes.doubt, outcome.issue_score),  # queues filter on it
    )
    config = instance_votes.InstanceVoteConfig()
    summary = {
        "ran": True,
        "pairs": int((found.pairs[:, 2] >= config.min_score).sum()),
        "copies": len(found.copies),
        "covered": int(votes.covered.sum()),
        "label_issues_by_partners": int((votes.is_issue & votes.covered).sum()),
        "cleared_by_partners": int((outcome.is_issue & votes.covered & ~votes.is_issue).sum()),
        "held_out_weak_partners": int(votes.weak.sum()),
        "seconds": round(time.monotonic() - started, 1),
        "min_score": config.min_score,
        "held_out_min_flip": config.held_out_min_flip,
    }
    return decided, votes.object_class, votes.partners, summary
