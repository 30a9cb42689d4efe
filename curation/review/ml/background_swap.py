"""A second opinion on confident learning's flags from a probe that cannot read backgrounds.

A linear probe on whole-frame embeddings learns the backgrounds that go with classes in training, so an image on
another class's background looks mislabeled (docs/METHODS.md, "Label issues"). Here every image's estimated
foreground (GrabCut) is pasted onto `copies` backgrounds taken from other reference (training) images, their own
object inpainted away; a probe trained on such composites of the reference images sees each class on every
background and can only learn the objects. A flag no strong same-object partner decided (curation.review.ml.
instance_votes; the caller chooses which) stands only when this probe's most probable class is not the image's
label either.

- Composites: the image and its mask at one size; backgrounds from reference images with a usable mask, never
  from the image's own copy group; drawn per image from a generator seeded with (seed, image index).
- Probabilities: reference images out of fold (stratified folds that keep a copy group together), each image's
  composites averaged; other images scored by a probe trained on every reference composite.
- An image without a usable foreground is its own composite (the probe then sees its background too).
- Doubtful images confident learning left unflagged and no partner decided (a shift flag, or the plain probe's
  probability of the label below `doubtful`) are flagged when this probe all but rules their label out
  (probability below `contradicts`): the swap probe is right only ~60% of the time on such hard images, but near
  certainty from it is mostly right (swap_contradicts).

Measured on seven composite probes (tests/probes/composite_probe.py), checking confident learning's flags on
uncovered images and the vote's flags decided by weak partners only: pooled precision / recall of label issues
0.88 / 0.93 -> 0.92 / 0.93, and on five held-out ones 0.92 / 0.95 -> 0.95 / 0.94 with the held-out-split rule
(docs/METHODS.md, Label issues, fifth round); ~35 ms per image for the composites and their embeddings
(efficientnet-lite0, 2 cores). Flagging doubtful images (sixth round): on five fresh held-out probes 0.90 / 0.95 ->
0.89 / 0.97.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from curation.review.ml.instance_votes import InstanceVotes
from curation.review.ml.proposals import ProbeConfig, SplitLabelIssues, probe_probabilities

SIDE = 128  # px: composites are squares of this side


@dataclass(frozen=True)
class SwapConfig:
    copies: int = 2  # backgrounds per image
    seed: int = 0
    folds: int = 5
    # Doubtful images confident learning left unflagged (a shift flag, or the plain probe's probability of the label
    # below `doubtful`) are flagged when the swap probe's probability of their label is below `contradicts`.
    doubtful: float = 0.1
    contradicts: float = 0.005


@dataclass(frozen=True)
class SwapImage:
    pixels: np.ndarray  # H×W×3 uint8 at the composite size
    mask: np.ndarray | None  # H×W bool foreground estimate, None when there is none usable


def swap_image(pixels: np.ndarray | None, mask: np.ndarray | None, side: int = SIDE) -> SwapImage:
    """An image and its foreground estimate resized to side × side (the composites are embedded as one batch); a
    mask that is not usable (no object, or no background left) becomes None; no pixels: a black square."""
    import cv2  # noqa: PLC0415 - OpenCV: in jobs only

    from curation.ml.pasting import mask_is_usable  # noqa: PLC0415 - with OpenCV

    if pixels is None:
        return SwapImage(np.zeros((side, side, 3), np.uint8), None)
    resized = cv2.resize(np.ascontiguousarray(pixels[..., :3]), (side, side), interpolation=cv2.INTER_AREA)
    if mask is None:
        return SwapImage(resized, None)
    small = cv2.resize(mask.astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST) > 0
    return SwapImage(resized, small if mask_is_usable(small) else None)


def _backgrounds(images: Sequence[SwapImage], reference: np.ndarray) -> dict[int, np.ndarray]:
    from curation.ml.pasting import remove_object  # noqa: PLC0415 - OpenCV: in jobs only

    return {int(j): remove_object(images[j].pixels, images[j].mask) for j in reference if images[j].mask is not None}


def swap_composites(
    images: Sequence[SwapImage], rows: np.ndarray, reference: np.ndarray, groups: np.ndarray, config: SwapConfig
) -> np.ndarray:
    """(len(rows), copies, H, W, 3) uint8: each row's foreground on `copies` reference images' backgrounds.

    reference: indices of the reference images; groups: copy group per image (a row never gets its own group's
    background)."""
    from curation.ml.pasting import IDENTITY, fit_background, paste_object  # noqa: PLC0415 - OpenCV: in jobs only

    backgrounds = _backgrounds(images, reference)
    donors = np.asarray(sorted(backgrounds), dtype=np.int64)
    out = []
    for i in np.asarray(rows, dtype=np.int64).tolist():
        image = images[i]
        height, width = image.pixels.shape[:2]
        allowed = donors[groups[donors] != groups[i]]
        if image.mask is None or allowed.size == 0:
            out.append([image.pixels] * config.copies)
            continue
        rng = np.random.default_rng([config.seed, i])
        chosen = rng.choice(allowed, size=config.copies, replace=allowed.size < config.copies)
        out.append(
            [
                paste_object(image.pixels, image.mask, fit_background(backgrounds[int(j)], height, width), IDENTITY)
                for j in chosen
            ]
        )
    return np.asarray(out, dtype=np.uint8)


def swap_probabilities(
    embed: Callable[[np.ndarray], np.ndarray],
    images: Sequence[SwapImage],
    labels: np.ndarray,
    reference: np.ndarray,
    rows: np.ndarray,
    groups: np.ndarray,
    n_classes: int,
    config: SwapConfig = SwapConfig(),
    probe: ProbeConfig | None = None,
) -> np.ndarray:
    """(len(rows), n_classes) probabilities of the background-swap probe for ``rows`` (out of fold for reference rows;
    NaN where a probe had a single class to learn).

    embed: (M, H, W, 3) uint8 composites -> (M, D) embeddings. reference: indices of the reference images (at least
    two distinct groups); rows: the images to score."""
    from sklearn.model_selection import StratifiedGroupKFold  # noqa: PLC0415 - scikit-learn: in jobs only

    probe = probe or ProbeConfig()
    reference = np.asarray(reference, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    needed = np.union1d(reference, rows)
    position = {int(r): p for p, r in enumerate(needed.tolist())}
    composites = swap_composites(images, needed, reference, groups, config)
    flat = composites.reshape(-1, *composites.shape[2:])
    vectors = np.asarray(embed(flat), dtype=np.float32).reshape(len(needed), config.copies, -1)
    dim = vectors.shape[2]

    def fit_predict(train: np.ndarray, scored: np.ndarray) -> np.ndarray:
        if np.unique(labels[train]).size < 2:  # nothing to tell apart: no opinion
            return np.full((len(scored), n_classes), np.nan)
        found = probe_probabilities(
            vectors[[position[int(t)] for t in train]].reshape(-1, dim),
            np.repeat(labels[train], config.copies),
            vectors[[position[int(s)] for s in scored]].reshape(-1, dim),
            n_classes,
            probe,
        )
        return found.reshape(len(scored), config.copies, n_classes).mean(axis=1)

    result = np.zeros((len(rows), n_classes))
    in_reference = np.isin(rows, reference)
    if (~in_reference).any():
        result[~in_reference] = fit_predict(reference, rows[~in_reference])
    # Folds: at most one per copy group and no more than the largest class has members (scikit-learn refuses
    # more); with fewer than two, reference rows cannot be scored out of fold and stay without an opinion (NaN).
    folds = min(config.folds, len(np.unique(groups[reference])), int(np.bincount(labels[reference]).max(initial=0)))
    if in_reference.any() and folds < 2:
        result[in_reference] = np.nan
    elif in_reference.any():
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=config.seed)
        wanted = {int(r): p for p, r in enumerate(rows.tolist()) if in_reference[p]}
        for train, held in splitter.split(reference, labels[reference], groups[reference]):
            scored = [int(r) for r in reference[held] if int(r) in wanted]
            if scored:
                result[[wanted[s] for s in scored]] = fit_predict(reference[train], np.asarray(scored))
    return result


def swap_questions(
    votes: InstanceVotes, outcome: SplitLabelIssues, labels: np.ndarray, settled_score: int, config: SwapConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(checked, doubtful) row indices: the flags no partner settled (confident learning's on images no partner
    decided, and the vote's whose partners of the named class all score below ``settled_score``), and the unflagged
    images no partner decided that the plain probe doubts (a shift flag, or its label below ``config.doubtful``)."""
    weakly_decided = votes.covered & (votes.strongest < settled_score)
    checked = np.flatnonzero(votes.is_issue & (~votes.covered | weakly_decided))
    given = outcome.probabilities[np.arange(labels.size), labels]
    doubted = outcome.is_shift | (given < config.doubtful)
    return checked, np.flatnonzero(~votes.covered & ~votes.is_issue & doubted)


def swap_contradicts(probabilities: np.ndarray, labels: np.ndarray, config: SwapConfig = SwapConfig()) -> np.ndarray:
    """(N,) bool: the swap probe gives the label a probability below ``config.contradicts`` (False where it has no
    opinion: NaN)."""
    probabilities = np.asarray(probabilities, dtype=float)
    given = probabilities[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)]
    return np.nan_to_num(given, nan=1.0) < config.contradicts


def swap_disagrees(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) bool: the swap probe's most probable class is not the label (True where it has no opinion: NaN)."""
    probabilities = np.asarray(probabilities, dtype=float)
    unknown = ~np.isfinite(probabilities).all(axis=1)
    best = np.argmax(np.nan_to_num(probabilities, nan=-1.0), axis=1)
    return unknown | (best != np.asarray(labels))
