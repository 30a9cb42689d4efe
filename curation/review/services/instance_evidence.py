"""Same-object evidence for label issues: read the members' images, match objects across them, vote.

The images are read from storage in batches of READ_BATCH ids (each decoded once, by READ_THREADS threads:
decoding, SIFT and GrabCut release the GIL) and reduced to local features (curation.ml.similarity.instances);
the pairs they give decide the label issues of the images they cover (curation.review.ml.instance_votes).
Runs of more than INSTANCE_LIMIT members skip it (matching grows with the square of the descriptors, ~0.15 s
per image at 500 images on 2 cores) and say so.

The flags no partner decided (confident learning's) and those decided by weaker partners only (none of the proposed
class scoring InstanceVoteConfig.settled_score) then get a second opinion (curation.review.ml.background_swap): each
image's foreground on other training images' backgrounds, embedded with the run's encoder (each image kept at
background_swap.SIDE px while the run lasts); a flag stands when that probe does not prefer the label either. The
same probe is asked about the doubtful images no partner decided and confident learning left unflagged (a shift flag
or a low probability of the label): it flags those whose label it all but rules out.
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
from curation.embeddings.encoders import EncoderUnavailable, encoder_load
from curation.models import Sample
from curation.review.ml import background_swap, instance_votes
from curation.review.ml import proposals as ml
from curation.review.ml.background_swap import SwapImage, swap_image

INSTANCE_LIMIT = 5000
READ_BATCH = 500
READ_THREADS = 2

Progress = Callable[[str], None]
Embed = Callable[[np.ndarray], np.ndarray]


def _features(key: str) -> tuple[Any, SwapImage]:
    """(local features without their colour pixels, the image as the background swap uses it)."""
    from curation.ml.similarity.instances import LocalFeatures, local_features  # noqa: PLC0415 - cv2/faiss in jobs only

    try:
        with Image.open(io.BytesIO(blob_read(key))) as image:
            pixels = np.asarray(image.convert("RGB"))
        features = local_features(pixels)
        swap = swap_image(features.pixels, features.mask)
        return dataclasses.replace(features, pixels=None), swap
    except (OSError, ValueError):  # gone or unreadable: no keypoints, no evidence
        nothing = LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), np.zeros(0, bool), None)
        return nothing, swap_image(None, None)


def instance_features_read(sample_ids: np.ndarray) -> tuple[list[Any], list[SwapImage]]:
    """Local features of ``sample_ids``' images and the images as the swap uses them, in their order (an unreadable
    image has no keypoints and a black square without foreground)."""
    ids = np.asarray(sample_ids, dtype=np.int64)
    read: list[tuple[Any, SwapImage]] = []
    with ThreadPoolExecutor(READ_THREADS) as pool:
        for start in range(0, len(ids), READ_BATCH):
            batch = ids[start : start + READ_BATCH]
            keys = dict(Sample.objects.filter(pk__in=batch.tolist()).values_list("pk", "image_key"))
            read += list(pool.map(_features, [keys.get(int(i), "") for i in batch]))
    return [f for f, _ in read], [s for _, s in read]


def composite_embedder(encoder_name: str) -> Embed:
    """(M, H, W, 3) uint8 images -> (M, D) float32 embeddings by ``encoder_name`` (loaded on first use; raises
    EncoderUnavailable as the embed job does)."""

    def embed(images: np.ndarray) -> np.ndarray:
        from curation.ml.embedding import embed_arrays  # noqa: PLC0415 - torch in jobs only

        return embed_arrays(encoder_load(encoder_name), images)

    return embed


def with_instance_evidence(
    outcome: ml.SplitLabelIssues,
    labels: np.ndarray,
    sample_ids: np.ndarray,
    mode: str,
    report: Progress,
    reference: np.ndarray | None = None,
    embed: Embed | None = None,
) -> tuple[ml.SplitLabelIssues, np.ndarray, np.ndarray, dict[str, Any]]:
    """(outcome with covered images decided by their same-object partners and the others' flags checked by the
    background swap, the class chosen per image (-1 where uncovered), partners per image, the summary's "instances"
    entry). reference: (N,) bool, the training split's images (the others are held out: weak partners do not
    overturn their labels); None when every image is one pool. embed: the swap's embedder (None: no swap)."""
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
    features, images = instance_features_read(sample_ids)
    report("matching objects across images")
    found = instance_pairs(features, copy_threshold=VERIFY_THRESHOLD)
    held_out = None if reference is None else ~np.asarray(reference, dtype=bool)
    votes = instance_votes.instance_label_issues(
        labels, outcome.probabilities, found.pairs, found.copies, outcome.is_issue, held_out=held_out
    )
    is_issue = votes.is_issue.copy()
    issue_score = np.where(votes.covered, votes.doubt, outcome.issue_score)  # queues filter on it
    config, swap_config = instance_votes.InstanceVoteConfig(), background_swap.SwapConfig()
    checked, doubtful = background_swap.swap_questions(votes, outcome, labels, config.settled_score, swap_config)
    swap: dict[str, Any] = {"ran": False, "reason": "no swap asked" if embed is None else "nothing to check"}
    if embed is not None and checked.size + doubtful.size:
        report("background swap: a second opinion on unsettled flags and doubtful images")
        asked = np.concatenate([checked, doubtful])
        n_classes = outcome.probabilities.shape[1]
        swap = _background_swap(embed, images, labels, reference, asked, found.copies, n_classes, swap_config)
        if swap["ran"]:
            probabilities = swap.pop("probabilities")
            kept = background_swap.swap_disagrees(probabilities[: checked.size], labels[checked])
            raised = background_swap.swap_contradicts(probabilities[checked.size :], labels[doubtful], swap_config)
            is_issue[checked], is_issue[doubtful] = kept, raised
            swap.update(checked=int(checked.size), cleared=int((~kept).sum()))
            swap.update(doubtful=int(doubtful.size), raised=int(raised.sum()))
            known = np.isfinite(probabilities).all(axis=1)
            issue_score[asked[known]] = 1.0 - probabilities[known, labels[asked[known]]]
    decided = dataclasses.replace(
        outcome, is_issue=is_issue, is_shift=outcome.is_shift & ~is_issue, issue_score=issue_score
    )
    summary = {
        "ran": True,
        "pairs": int((found.pairs[:, 2] >= config.min_score).sum()),
        "copies": len(found.copies),
        "covered": int(votes.covered.sum()),
        "label_issues_by_partners": int((is_issue & votes.covered).sum()),
        "cleared_by_partners": int((outcome.is_issue & votes.covered & ~votes.is_issue).sum()),
        "held_out_weak_partners": int(votes.weak.sum()),
        "background_swap": swap,
        "seconds": round(time.monotonic() - started, 1),
        "min_score": config.min_score,
        "strong_score": config.strong_score,
        "settled_score": config.settled_score,
    }
    return decided, votes.object_class, votes.partners, summary


def _background_swap(
    embed: Embed,
    images: list[SwapImage],
    labels: np.ndarray,
    reference: np.ndarray | None,
    asked: np.ndarray,
    copies: np.ndarray,
    n_classes: int,
    config: background_swap.SwapConfig,
) -> dict[str, Any]:
    """The swap's entry for the summary, with "probabilities" of ``asked`` when it ran (popped by the caller)."""
    started = time.monotonic()
    pool = np.ones(labels.size, dtype=bool) if reference is None else np.asarray(reference, dtype=bool)
    groups = instance_votes.copy_groups(labels.size, copies)
    donors = np.flatnonzero(pool)
    if len(np.unique(groups[donors])) < 2 or np.unique(labels[donors]).size < 2:
        return {"ran": False, "reason": "too few training images to swap backgrounds"}
    try:
        probabilities = background_swap.swap_probabilities(
            embed, images, labels, donors, asked, groups, n_classes, config
        )
    except EncoderUnavailable as exc:
        return {"ran": False, "reason": f"encoder unavailable: {exc}"}
    return {
        "ran": True,
        "composites": int(len(np.union1d(donors, asked)) * config.copies),
        "seconds": round(time.monotonic() - started, 1),
        "probabilities": probabilities,
    }
