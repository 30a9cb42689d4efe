"""Benchmark: same-object matching for label issues (curation/ml/similarity/instances.py).

Builds a composite probe (tests/probes/composite_probe.py, needs Debian's tuxpaint-stamps-default and
mate-backgrounds), extracts local features of every image and matches them as `propose_labels` does
(FAISS candidates, RANSAC verification), and prints wall and CPU time per stage and per image. Baseline, in the
same process on the first `--baseline-images` images: every pair matched by brute force (OpenCV BFMatcher,
ratio 0.85 both ways, mutual) and verified the same way, the obvious way to do it; the ratio of the two on
those images, the share of the baseline's object pairs (score >= 4) the candidate search also finds, and how many
of each one's pairs show one object photo by the probe's truth (copies aside).

Then the background swap that checks the flags no partner decides (curation/review/ml/background_swap.py): the
composites of every training image (2 per image, 128 px) and their embedding by efficientnet-lite0, against the
baseline of embedding the same images once (what the embed job already did), in the same process.

    .venv/bin/python bench/instances_bench.py                   # 75 images per class (~490 images)
    .venv/bin/python bench/instances_bench.py --per-class 200   # ~1,260 images
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.ml.embedding import embed_arrays
from curation.ml.encoders import create_encoder
from curation.ml.similarity import instances
from curation.ml.similarity.instances import instance_pairs, local_features
from curation.review.ml.background_swap import SwapConfig, swap_composites, swap_image
from tests.probes.composite_probe import ProbeConfig, probe_build

COPY_THRESHOLD = 0.68
MIN_SCORE = 4


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def brute_force_pairs(features) -> dict[tuple[int, int], int]:
    """Every pair: mutual ratio-test matches by BFMatcher, then the same verification and object rule."""
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    scores = {}
    for i, j in combinations(range(len(features)), 2):
        a, b = features[i], features[j]
        if len(a.descriptors) < 2 or len(b.descriptors) < 2:
            continue
        nearest = [pair for pair in matcher.knnMatch(a.descriptors, b.descriptors, k=2) if len(pair) == 2]
        good = [(m.queryIdx, m.trainIdx) for m, second in nearest if m.distance < instances.RATIO * second.distance]
        backward = {m[0].queryIdx: m[0].trainIdx for m in matcher.knnMatch(b.descriptors, a.descriptors, k=1) if m}
        good = [(q, t) for q, t in good if backward.get(t) == q]
        if len(good) < instances.MIN_VOTES:
            continue
        score = instances.object_score(instances._models(a, b, good))
        if score > 0:
            scores[(i, j)] = score
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=75)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--baseline-images", type=int, default=120)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        truth = probe_build(root, ProbeConfig(seed=args.seed, images_per_class=args.per_class))
        paths = sorted(truth.files)
        stamps = [truth.files[p]["stamp"] for p in paths]
        pixels = [np.asarray(Image.open(root / "images" / p).convert("RGB")) for p in paths]
    features, wall, cpu = timed(lambda: [local_features(image) for image in pixels])
    print(
        f"images {len(pixels)}: features {wall:.1f} s wall, {cpu:.1f} s CPU ({1000 * wall / len(pixels):.0f} ms/image)"
    )
    found, wall, cpu = timed(lambda: instance_pairs(features, copy_threshold=COPY_THRESHOLD))
    counted = int((found.pairs[:, 2] >= MIN_SCORE).sum())
    print(
        f"matching: {wall:.1f} s wall, {cpu:.1f} s CPU; {found.candidates:,} candidate pairs verified, "
        f"{counted:,} object pairs (score >= {MIN_SCORE}), {len(found.copies)} copies"
    )
    subset = features[: args.baseline_images]
    fast, fast_wall, _ = timed(lambda: instance_pairs(subset, copy_threshold=COPY_THRESHOLD))
    slow, slow_wall, _ = timed(lambda: brute_force_pairs(subset))
    fast_pairs = {(int(i), int(j)) for i, j, s in fast.pairs if s >= MIN_SCORE}
    copies = {(int(i), int(j)) for i, j in fast.copies}
    slow_pairs = {pair for pair, score in slow.items() if score >= MIN_SCORE and pair not in copies}
    share = len(fast_pairs & slow_pairs) / max(len(slow_pairs), 1)

    def precision(found: set[tuple[int, int]]) -> str:
        same = sum(stamps[i] == stamps[j] for i, j in found)
        return f"{same} of {len(found)} show one object photo"

    print(
        f"baseline on {len(subset)} images ({len(subset) * (len(subset) - 1) // 2:,} pairs): brute force "
        f"{slow_wall:.1f} s, candidate search {fast_wall:.1f} s, ratio {slow_wall / max(fast_wall, 1e-9):.1f}x; "
        f"the search finds {share:.2f} of the brute force's {len(slow_pairs)} object pairs"
    )
    print(f"probe truth: search {precision(fast_pairs)}; brute force {precision(slow_pairs)}")
    swap_bench([swap_image(f.pixels, f.mask) for f in features], [p.startswith("train/") for p in paths])


def swap_bench(images, in_train) -> None:
    encoder = create_encoder("efficientnet-lite0")

    def embed(pixels: np.ndarray) -> np.ndarray:
        return embed_arrays(encoder, pixels)

    train = np.flatnonzero(in_train)
    groups = np.arange(len(images))
    composites, make_wall, _ = timed(lambda: swap_composites(images, train, train, groups, SwapConfig()))
    flat = composites.reshape(-1, *composites.shape[2:])
    _, swap_wall, _ = timed(lambda: embed(flat))
    _, once_wall, _ = timed(lambda: embed(np.stack([images[i].pixels for i in train])))
    total = make_wall + swap_wall
    print(
        f"background swap on {len(train)} training images: composites {make_wall:.1f} s, embedding {len(flat)} "
        f"composites {swap_wall:.1f} s ({1000 * total / len(train):.0f} ms/image); baseline, embedding the "
        f"{len(train)} images once: {once_wall:.1f} s; ratio {total / max(once_wall, 1e-9):.1f}x"
    )


if __name__ == "__main__":
    main()
