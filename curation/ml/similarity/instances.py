"""Same-object matching across images: is one object photo in both, whatever the background?

Label evidence that an embedding cannot give: when one object photo appears in several images (a product
shot reused, a cut-out pasted onto other scenes, a crop of another image), every one of them should carry the
object's class. An embedding sees the whole frame and places such images with their backgrounds; local
features matched under one geometric transform find the object itself.

Pipeline (measured on composite probes, docs/METHODS.md "Label issues", instance evidence):
1. Each image is resized so its longer side is SIDE px (up or down), converted to grey, and SIFT keypoints
   (OpenCV, contrast threshold CONTRAST; at most MAX_KEYPOINTS by response) are described with RootSIFT.
   A foreground estimate (GrabCut, curation.ml.masks.estimated) dilated by FOREGROUND_DILATION px marks the
   keypoints on the object.
2. Candidate pairs: every descriptor's NEIGHBOURS nearest descriptors over all images (FAISS; exact up to
   EXACT_SEARCH_LIMIT descriptors, an inverted file beyond). A neighbour in another image counts as a
   correspondence when it passes Lowe's ratio test within that image (its distance under RATIO times the
   distance of the second descriptor from that image, or of the farthest neighbour found). Image pairs with
   at least MIN_VOTES correspondences are verified.
3. Verification: on the pair's correspondences (both directions), up to MODELS similarity transforms by RANSAC
   (cv2.estimateAffinePartial2D, RANSAC_PX), each fitted to what the previous ones left. A transform is an
   object transform when FOREGROUND_SHARE of its inliers lie on the foreground of both images, or when it
   rotates by at least MIN_ROTATION degrees at a scale in SCALE_RANGE: two crops of one background photo
   differ by scale and shift, never by a rotation, so a rotated match is an object placed anew. Neither counts
   when the transform also aligns the background around the objects (background_agreement >= BACKGROUND_AGREEMENT):
   two crops of one background photo with different objects, where the foreground estimate spilled onto the
   background, or an unconfirmed copy. The pair's score is the inlier count of its best object transform.
4. Copies (the same photo re-encoded, shifted or resized: a near-identity transform) are reported apart,
   confirmed by the pixel verifier (verify.thumbnail_pair_score >= copy_threshold): images that are one photo
   vouch for each other's label and must count as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

SIDE = 224
CONTRAST = 0.02
MAX_KEYPOINTS = 400
FOREGROUND_DILATION = 6  # px at SIDE (3 px at the 112 px the rules were measured on)
NEIGHBOURS = 20
RATIO = 0.85
MIN_VOTES = 2
EXACT_SEARCH_LIMIT = 60_000
MODELS = 2
RANSAC_PX = 5.0  # at SIDE
FOREGROUND_SHARE = 0.8
MIN_ROTATION = 3.0
SCALE_RANGE = (0.4, 2.5)
COPY_SCALE = (0.85, 1.18)
COPY_ROTATION = 2.0
# Background agreement: local normalised cross-correlation (BACKGROUND_WINDOW px windows) of one grey image warped by
# the transform onto the other, over the overlap (eroded BACKGROUND_EDGE px) where both are textured (window std >=
# BACKGROUND_TEXTURE grey levels) and off both objects (their foreground estimates dilated FOREGROUND_DILATION px).
BACKGROUND_AGREEMENT = 0.7  # share of those pixels with correlation >= BACKGROUND_NCC: the background moved too
BACKGROUND_NCC = 0.7
BACKGROUND_WINDOW = 9
BACKGROUND_TEXTURE = 6.0
BACKGROUND_EDGE = 5
BACKGROUND_MIN_PIXELS = 100  # fewer such pixels: no opinion (agreement 0)
BACKGROUND_CHECKED = 4  # inliers: smaller transforms are not checked (chance ones, under the vote's least score)
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))  # iterated: scipy's binary dilation/erosion by a diamond


@dataclass(frozen=True)
class LocalFeatures:
    points: np.ndarray  # (n, 2) float32, pixel coordinates in the SIDE frame
    descriptors: np.ndarray  # (n, 128) float32 RootSIFT
    foreground: np.ndarray  # (n,) bool: on the estimated object
    thumbnail: np.ndarray | None  # the pixel verifier's grey square, for telling copies apart
    mask: np.ndarray | None = None  # the foreground estimate (GrabCut, undilated) in the SIDE frame, None if none
    pixels: np.ndarray | None = None  # the RGB image in the SIDE frame (kept by callers that need it, e.g. swaps)
    grey: np.ndarray | None = None  # uint8 grey image in the SIDE frame, for background agreement (None: no check)


@dataclass(frozen=True)
class InstancePairs:
    pairs: np.ndarray  # (m, 3) int64: image i < image j, score (inliers of the best object transform)
    copies: np.ndarray  # (c, 2) int64: images that are one photo
    candidates: int  # image pairs verified


def _rootsift(descriptors: np.ndarray) -> np.ndarray:
    descriptors = descriptors.astype(np.float32)
    descriptors /= np.abs(descriptors).sum(axis=1, keepdims=True) + 1e-7
    return np.sqrt(descriptors)


def local_features(image: np.ndarray, *, with_foreground: bool = True) -> LocalFeatures:
    """Keypoints, RootSIFT descriptors and foreground flags of one RGB uint8 image."""
    from PIL import Image  # noqa: PLC0415 - used for the thumbnail only

    from curation.ml.masks.estimated import grabcut_foreground  # noqa: PLC0415 - scipy/cv2 mask code only when used
    from curation.ml.similarity.verify import verification_thumbnail  # noqa: PLC0415 - same

    height, width = image.shape[:2]
    scale = SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    rgb = np.ascontiguousarray(cv2.resize(image[..., :3], size, interpolation=interpolation))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    sift = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS, contrastThreshold=CONTRAST)  # type: ignore[attr-defined]
    keypoints, descriptors = sift.detectAndCompute(grey, None)
    keypoints = keypoints[:MAX_KEYPOINTS]
    points = np.asarray([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    described = _rootsift(descriptors[:MAX_KEYPOINTS]) if descriptors is not None else np.zeros((0, 128), np.float32)
    foreground = np.zeros(len(points), dtype=bool)
    mask = grabcut_foreground(rgb) if with_foreground else None
    if mask is not None and len(points):
        dilated = ndimage.binary_dilation(mask, iterations=FOREGROUND_DILATION)
        rows = np.clip(points[:, 1].round().astype(int), 0, dilated.shape[0] - 1)
        cols = np.clip(points[:, 0].round().astype(int), 0, dilated.shape[1] - 1)
        foreground = dilated[rows, cols]
    thumbnail = verification_thumbnail(Image.fromarray(rgb))
    return LocalFeatures(points, described, foreground, thumbnail, mask, rgb, grey)


def _neighbours(descriptors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss  # noqa: PLC0415 - loaded when matching runs

    data = np.ascontiguousarray(descriptors, dtype=np.float32)
    index: Any
    if len(data) <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatL2(data.shape[1])
    else:
        lists = int(min(4096, max(64, np.sqrt(len(data)) * 2)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(data.shape[1]), data.shape[1], lists)
        index.train(data[np.random.default_rng(0).permutation(len(data))[: lists * 64]])
        index.nprobe = 16
    index.add(data)
    distances, ids = index.search(data, k + 1)
    return np.sqrt(np.maximum(distances, 0)), ids


def _correspondences(features: Sequence[LocalFeatures]) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Per image pair (i < j): (keypoint in i, keypoint in j) that pass the ratio test within the other image."""
    counts = [len(f.descriptors) for f in features]
    if sum(counts) == 0:
        return {}
    owner = np.repeat(np.arange(len(features)), counts)
    local = np.concatenate([np.arange(c) for c in counts])
    distances, ids = _neighbours(np.concatenate([f.descriptors for f in features if len(f.descriptors)]), NEIGHBOURS)
    found = ids >= 0
    image = np.where(found, owner[np.maximum(ids, 0)], -1)
    columns = image.shape[1]
    first = np.ones(image.shape, dtype=bool)
    second = np.full(image.shape, np.inf)
    for p in range(columns):
        for q in range(p):
            first[:, p] &= image[:, q] != image[:, p]
    for p in range(columns):
        for q in range(columns - 1, p, -1):
            same = (image[:, q] == image[:, p]) & first[:, p]
            second[same, p] = distances[same, q]
    second = np.where(np.isinf(second), distances[:, -1:], second)
    keep = first & found & (image != owner[:, None]) & (distances < RATIO * second)
    query, column = np.nonzero(keep)
    other = ids[query, column]
    pairs: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for a, b, ka, kb in zip(owner[query], owner[other], local[query], local[other], strict=True):
        key, match = ((int(a), int(b)), (int(ka), int(kb))) if a < b else ((int(b), int(a)), (int(kb), int(ka)))
        pairs.setdefault(key, set()).add(match)
    return {key: sorted(matches) for key, matches in pairs.items()}


def _window_statistics(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(correlation, std of x, std of y) over BACKGROUND_WINDOW-px windows of two float32 images of one shape."""
    window = (BACKGROUND_WINDOW, BACKGROUND_WINDOW)
    mean_x, mean_y = cv2.blur(x, window), cv2.blur(y, window)
    var_x = np.maximum(cv2.blur(x * x, window) - mean_x * mean_x, 0)
    var_y = np.maximum(cv2.blur(y * y, window) - mean_y * mean_y, 0)
    covariance = cv2.blur(x * y, window) - mean_x * mean_y
    return covariance / np.sqrt(np.maximum(var_x * var_y, 1e-6)), np.sqrt(var_x), np.sqrt(var_y)


def background_agreement(a: LocalFeatures, b: LocalFeatures, matrix: np.ndarray) -> float:
    """Share of the textured pixels off both objects where ``a`` warped by ``matrix`` (a's frame -> b's) matches
    ``b``: near 1 when the whole frame moved (one background photo cropped twice, one photo re-encoded), low when
    only the object did. 0 without grey images, without a foreground estimate in either image, or with fewer than
    BACKGROUND_MIN_PIXELS such pixels."""
    if a.grey is None or b.grey is None or (a.mask is None and b.mask is None):
        return 0.0  # no pixels, or no object outline: the whole frame could be the object
    height, width = b.grey.shape
    warped = cv2.warpAffine(a.grey.astype(np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones(a.grey.shape, np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
    inside = cv2.erode(inside, _CROSS, iterations=BACKGROUND_EDGE, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    correlation, texture_a, texture_b = _window_statistics(warped, b.grey.astype(np.float32))
    objects = np.zeros((height, width), dtype=bool) if b.mask is None else b.mask.astype(bool)
    if a.mask is not None:
        moved = cv2.warpAffine(a.mask.astype(np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
        objects = objects | (moved > 0)
    near_objects = cv2.dilate(objects.astype(np.uint8), _CROSS, iterations=FOREGROUND_DILATION) > 0
    textured = (texture_a >= BACKGROUND_TEXTURE) & (texture_b >= BACKGROUND_TEXTURE)
    off_objects = (inside > 0) & ~near_objects & textured
    counted = int(off_objects.sum())
    if counted < BACKGROUND_MIN_PIXELS:
        return 0.0
    return float((correlation[off_objects] >= BACKGROUND_NCC).sum() / counted)


def _models(a: LocalFeatures, b: LocalFeatures, matches: list[tuple[int, int]]) -> list[dict]:
    """Up to MODELS similarity transforms, each on what the previous ones left: inliers, foreground share, scale,
    rotation, and the background agreement of those that would otherwise be object transforms (of at least
    BACKGROUND_CHECKED inliers)."""
    rows = np.asarray(matches, dtype=np.int64)
    source, target = a.points[rows[:, 0]], b.points[rows[:, 1]]
    on_object = a.foreground[rows[:, 0]] & b.foreground[rows[:, 1]]
    left = np.ones(len(rows), dtype=bool)
    models = []
    for _ in range(MODELS):
        index = np.flatnonzero(left)
        if index.size < 3:
            break
        cv2.setRNGSeed(0)
        matrix, inliers = cv2.estimateAffinePartial2D(
            source[index], target[index], method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX, maxIters=2000,
            confidence=0.995,
        )  # fmt: skip
        if matrix is None:
            break
        chosen = index[inliers.ravel().astype(bool)]
        if chosen.size < 3:
            break
        model = {
            "inliers": int(chosen.size),
            "foreground_share": float(on_object[chosen].mean()),
            "scale": float(np.hypot(matrix[0, 0], matrix[1, 0])),
            "rotation": float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0]))),
        }
        if model["inliers"] >= BACKGROUND_CHECKED and _placed(model):
            model["background"] = background_agreement(a, b, matrix)
        models.append(model)
        left[chosen] = False
    return models


def _placed(model: dict) -> bool:
    """On both foregrounds, or rotated at a plausible scale: an object placed anew, unless the background moved too."""
    low, high = SCALE_RANGE
    rotated = abs(model["rotation"]) >= MIN_ROTATION and low < model["scale"] < high
    return model["foreground_share"] >= FOREGROUND_SHARE or rotated


def object_score(models: list[dict]) -> int:
    """Inliers of the best object transform (0 when none is one; a model without "background" was not checked)."""
    scores = [m["inliers"] for m in models if _placed(m) and m.get("background", 0.0) < BACKGROUND_AGREEMENT]
    return max(scores, default=0)


def _near_identity(model: dict) -> bool:
    return COPY_SCALE[0] <= model["scale"] <= COPY_SCALE[1] and abs(model["rotation"]) < COPY_ROTATION


def instance_pairs(features: Sequence[LocalFeatures], *, copy_threshold: float) -> InstancePairs:
    """Pairs of images that show one object photo (score > 0), and pairs that are copies of one photo."""
    from curation.ml.similarity.verify import thumbnail_pair_score  # noqa: PLC0415 - cv2 verifier, loaded when used

    pairs, copies = [], []
    correspondences = _correspondences(features)
    candidates = 0
    for (i, j), matches in correspondences.items():
        if len(matches) < MIN_VOTES:
            continue
        candidates += 1
        models = _models(features[i], features[j], matches)
        first, second = features[i].thumbnail, features[j].thumbnail
        comparable = first is not None and second is not None and _near_identity(models[0]) if models else False
        if comparable and thumbnail_pair_score(first, second) >= copy_threshold:  # type: ignore[arg-type]
            copies.append((i, j))
            continue
        score = object_score(models)
        if score > 0:
            pairs.append((i, j, score))
    return InstancePairs(
        np.asarray(pairs, dtype=np.int64).reshape(-1, 3), np.asarray(copies, dtype=np.int64).reshape(-1, 2), candidates
    )
