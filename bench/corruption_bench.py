"""The corruption suite's time on 1,000 images (issue 7, part 8): 15 ImageNet-C corruptions × 5 severities.

    python bench/corruption_bench.py [--n 1000] [--side 32] [--severities 1,2,3,4,5] [--corruptions a,b]
                                     [--workers 1] [--seed 0]

Makes N smooth random RGB images of side × side (noise upsampled, so blur and JPEG behave as on
photos), then times, for every (corruption, severity), what the evaluate job does for one set:
`corrupt_images` (one seed per image) and packing the set as the compressed .npz the cache stores.
It prints seconds and images/s per corruption (summed over severities), the whole suite's time, the
cache file size per set, and — with --workers P > 1 — the same suite spread over P processes, one
(corruption, severity) set per task, with its speed-up. Django is not needed.
"""

import argparse
import io
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robustness.ml.corruptions import COMMON_CORRUPTIONS, SEVERITIES, corrupt_images


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="images (default 1000)")
    parser.add_argument("--side", type=int, default=32, help="image side in px, at least 32 (default 32)")
    parser.add_argument("--severities", default=",".join(map(str, SEVERITIES)), help="default 1,2,3,4,5")
    parser.add_argument("--corruptions", default=",".join(COMMON_CORRUPTIONS), help="default: the 15 of ImageNet-C")
    parser.add_argument("--workers", type=int, default=1, help="also run the suite on this many processes")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def smooth_images(n: int, side: int, seed: int) -> np.ndarray:
    """N×side×side×3 uint8: 8×8 noise upsampled bilinearly plus a little fine noise."""
    import cv2

    rng = np.random.default_rng(seed)
    images = np.empty((n, side, side, 3), dtype=np.uint8)
    for i in range(n):
        coarse = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
        fine = rng.normal(0, 6, (side, side, 3))
        images[i] = np.clip(cv2.resize(coarse, (side, side), interpolation=cv2.INTER_LINEAR) + fine, 0, 255)
    return images


def one_set(images: np.ndarray, name: str, severity: int, seed: int) -> tuple[str, int, float, float, int]:
    """(name, severity, corrupt seconds, pack seconds, packed bytes) for one cached set."""
    keys = list(range(len(images)))
    started = time.perf_counter()
    corrupted = corrupt_images(images, name=name, severity=severity, seed=seed, image_keys=keys)
    corrupt_seconds = time.perf_counter() - started
    started = time.perf_counter()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, sample_ids=np.array(keys), images=corrupted)
    return name, severity, corrupt_seconds, time.perf_counter() - started, buffer.tell()


def warm_up(names: list[str]) -> None:
    """First calls compile numba kernels (glass_blur) and load frost images: not part of the suite's time."""
    image = np.full((1, 32, 32, 3), 128, np.uint8)
    for name in names:
        corrupt_images(image, name=name, severity=1, seed=0, image_keys=[0])


_IMAGES: np.ndarray | None = None


def _init(images: np.ndarray) -> None:
    global _IMAGES
    _IMAGES = images
    warm_up(["glass_blur"])


def _task(args: tuple[str, int, int]) -> tuple[str, int, float, float, int]:
    assert _IMAGES is not None
    return one_set(_IMAGES, *args)


def main() -> None:
    args = parse_args()
    names = [n for n in args.corruptions.split(",") if n]
    severities = [int(s) for s in args.severities.split(",") if s]
    images = smooth_images(args.n, args.side, args.seed)
    warm_up(names)
    print(f"corruption suite: {len(names)} corruptions × {len(severities)} severities on {args.n} images "
          f"of {args.side}×{args.side} px, 1 process (cpu count {os.cpu_count()})")  # fmt: skip
    rows: dict[str, list[float]] = {}
    pack_seconds, packed_bytes, started = 0.0, [], time.perf_counter()
    for name in names:
        rows[name] = []
        for severity in severities:
            _, _, corrupt_seconds, pack, size = one_set(images, name, severity, args.seed)
            rows[name].append(corrupt_seconds)
            pack_seconds += pack
            packed_bytes.append(size)
    total = time.perf_counter() - started
    sets = len(names) * len(severities)
    print(f"{'corruption':<18} {'seconds':>8} {'images/s':>9}  (per severity: seconds)")
    for name, seconds in sorted(rows.items(), key=lambda item: -sum(item[1])):
        rate = args.n * len(severities) / sum(seconds)
        print(f"{name:<18} {sum(seconds):8.2f} {rate:9.0f}  {' '.join(f'{s:.2f}' for s in seconds)}")
    corrupt_total = sum(sum(v) for v in rows.values())
    print(f"suite: {total:.1f} s for {sets} sets = {args.n * sets} corrupted images "
          f"({args.n * sets / total:.0f} images/s); corrupting {corrupt_total:.1f} s, packing the cache "
          f"files {pack_seconds:.1f} s; cache file per set {np.mean(packed_bytes) / 1e6:.2f} MB "
          f"(raw {args.n * args.side * args.side * 3 / 1e6:.2f} MB)")  # fmt: skip
    if args.workers > 1:
        tasks = [(name, severity, args.seed) for name in names for severity in severities]
        with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(images,)) as pool:
            list(pool.map(_task, tasks[: args.workers]))  # start and warm every worker first
            started = time.perf_counter()
            list(pool.map(_task, tasks))
            parallel = time.perf_counter() - started
        print(f"suite on {args.workers} processes: {parallel:.1f} s (speed-up {total / parallel:.2f}×)")


if __name__ == "__main__":
    main()
