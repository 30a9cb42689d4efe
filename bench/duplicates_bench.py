"""Near-duplicate search at scale: k-means cell search vs the brute-force reference (docs/ARCHITECTURE.md §11).

    python bench/duplicates_bench.py [--n 1000000] [--dim 512] [--threshold 0.95] [--cell-size 1000]
                                     [--probes 2] [--duplicate-rate 0.01] [--recall-sample 50000] [--seed 0]

Builds N synthetic L2-normalised float16 embeddings (as the embed job stores them) around 2,000 cluster
centres of random spread, and turns --duplicate-rate of the rows into near duplicates of other rows (a
small perturbation: cosine about 0.99). Then, in this process:
1. cells: `near_duplicate_pairs(method="cells")` (spherical k-means cells, each row compared with the
   rows of its --probes nearest cells) plus the connected-component groups; wall time and peak RSS;
2. agreement: the exact blocked all-pairs search on a random --recall-sample subset, the share of its
   pairs the cell search found (recall; every pair found is exact, so precision is 1), the share of
   injected duplicate pairs found, and the exact search's time scaled to all N rows (quadratic);
3. verification: --verify-pairs candidate pairs (10k) among --verify-images stored JPEG thumbnails
   (160 px, written to a temporary folder as the import stores them; about 5% of the pairs are copies):
   the job's way (each image read and decoded once, by READ_THREADS threads in batches of
   VERIFY_READ_BATCH, then `pair_scores`) against a bare loop of the same verifier (read both files and
   `copy_score` per pair); seconds per 10k pairs and the ratio bare loop / batched.
"""

import argparse
import io
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from curation.embeddings.ml.near_duplicates import cell_search_recall, near_duplicate_pairs  # noqa: E402
from curation.ml.similarity import duplicate_groups  # noqa: E402
from curation.ml.similarity.verify import (  # noqa: E402
    copy_score,
    pair_scores,
    verification_thumbnail,
)

READ_THREADS = 4  # as curation.embeddings.services.duplicate_verification (which needs Django to find the keys)
VERIFY_READ_BATCH = 1000
THUMBNAIL_SIDE = 160

CENTRES = 2_000
GENERATE_BATCH = 20_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--cell-size", type=int, default=1_000)
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--duplicate-rate", type=float, default=0.01)
    parser.add_argument("--recall-sample", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify-pairs", type=int, default=10_000)
    parser.add_argument("--verify-images", type=int, default=4_000)
    parser.add_argument("--skip-search", action="store_true", help="measure the verification only")
    return parser.parse_args()


def cpu_seconds() -> float:
    """CPU time of this process (all its threads): on a shared machine wall time swings with the neighbours'
    load, CPU time much less; on idle cores wall is about CPU / threads when the work is parallel."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def synthetic_embeddings(n: int, dim: int, duplicate_rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float16 unit rows around CENTRES centres (spread 0.3-1.2 per cluster); the last duplicate_rate * n rows
    are near copies of earlier rows. Returns the rows and the (source, copy) pairs injected."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(CENTRES, dim))).astype(np.float32)
    spread = rng.uniform(0.3, 1.2, CENTRES).astype(np.float32)
    embeddings = np.empty((n, dim), dtype=np.float16)
    copies = int(n * duplicate_rate)
    originals = n - copies
    for start in range(0, originals, GENERATE_BATCH):
        stop = min(start + GENERATE_BATCH, originals)
        cluster = rng.integers(0, CENTRES, stop - start)
        noise = rng.normal(size=(stop - start, dim)).astype(np.float32) / np.sqrt(dim)
        embeddings[start:stop] = unit(centres[cluster] + spread[cluster, None] * noise)
    sources = rng.choice(originals, copies, replace=False)
    for start in range(0, copies, GENERATE_BATCH):
        chunk = sources[start : start + GENERATE_BATCH]
        noise = rng.normal(size=(len(chunk), dim)).astype(np.float32) * (0.1 / np.sqrt(dim))
        embeddings[originals + start : originals + start + len(chunk)] = unit(embeddings[chunk] + noise)
    injected = np.stack([sources, np.arange(originals, n)], axis=1)
    return embeddings, injected


def _stored_thumbnails(folder: Path, count: int, rng: np.random.Generator) -> list[Path]:
    """``count`` JPEG thumbnails of smooth random scenes; odd-numbered files are re-encoded, shifted copies of the
    one before (half the pairs (row, row + 1) drawn below are copies)."""
    from PIL import Image

    paths = []
    for number in range(count):
        if number % 2:
            with Image.open(paths[-1]) as before:
                image = before.convert("RGB").crop((2, 1, THUMBNAIL_SIDE, THUMBNAIL_SIDE)).resize(before.size)
        else:
            coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            image = Image.fromarray(coarse).resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BICUBIC)
        path = folder / f"{number:06d}.jpg"
        image.save(path, "JPEG", quality=int(rng.integers(70, 95)))
        paths.append(path)
    return paths


def _read_thumbnail(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return verification_thumbnail(image)


def verification_bench(pairs_wanted: int, images: int, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        paths = _stored_thumbnails(Path(folder), images, rng)
        rows_a = rng.integers(0, images - 1, pairs_wanted)
        rows_b = np.where(rng.random(pairs_wanted) < 0.1, rows_a + 1, rng.integers(0, images, pairs_wanted))
        started, cpu_started = time.perf_counter(), cpu_seconds()
        used = np.unique(np.concatenate([rows_a, rows_b]))
        thumbs = np.empty((len(used), 64, 64), dtype=np.float32)
        with ThreadPoolExecutor(READ_THREADS) as pool:
            for start in range(0, len(used), VERIFY_READ_BATCH):
                batch = [paths[row] for row in used[start : start + VERIFY_READ_BATCH]]
                thumbs[start : start + len(batch)] = list(pool.map(_read_thumbnail, batch))
        read_seconds = time.perf_counter() - started
        scores = pair_scores(thumbs, np.searchsorted(used, rows_a), np.searchsorted(used, rows_b))
        batched, batched_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started

        loop_pairs = min(pairs_wanted, 2_000)  # the bare loop on a prefix, scaled to the same count
        started, cpu_started = time.perf_counter(), cpu_seconds()
        loop_scores = []
        for a, b in zip(rows_a[:loop_pairs].tolist(), rows_b[:loop_pairs].tolist(), strict=True):
            with (
                Image.open(io.BytesIO(paths[a].read_bytes())) as first,
                Image.open(io.BytesIO(paths[b].read_bytes())) as second,
            ):
                loop_scores.append(copy_score(first, second))
        scale = pairs_wanted / loop_pairs
        loop, loop_cpu = (time.perf_counter() - started) * scale, (cpu_seconds() - cpu_started) * scale
    same = np.allclose(scores[:loop_pairs], loop_scores, atol=1e-5)
    per_10k = 10_000 / pairs_wanted
    print(f"verification: {pairs_wanted:,} candidate pairs over {len(used):,} stored thumbnails "
          f"({(scores >= 0.68).mean():.3f} of them at or above 0.68): batched {batched * per_10k:.1f} s wall "
          f"({batched_cpu * per_10k:.1f} s CPU; reading {read_seconds * per_10k:.1f} s) per 10k pairs; bare loop "
          f"{loop * per_10k:.1f} s wall ({loop_cpu * per_10k:.1f} s CPU) per 10k pairs (timed on {loop_pairs:,}); "
          f"bare loop / batched = {loop / batched:.2f} wall, {loop_cpu / batched_cpu:.2f} CPU; "
          f"same scores: {same}")  # fmt: skip


def main() -> None:
    args = parse_args()
    if args.skip_search:
        verification_bench(args.verify_pairs, args.verify_images, args.seed)
        return
    started = time.perf_counter()
    embeddings, injected = synthetic_embeddings(args.n, args.dim, args.duplicate_rate, args.seed)
    size_gb = embeddings.nbytes / 1024**3
    print(f"data: {args.n:,} x {args.dim} float16 ({size_gb:.2f} GB), {len(injected):,} injected near duplicates, "
          f"built in {time.perf_counter() - started:.1f} s; RSS so far {peak_rss_gb():.2f} GB")  # fmt: skip

    started, cpu_started = time.perf_counter(), cpu_seconds()
    search = near_duplicate_pairs(
        embeddings, args.threshold, method="cells", cell_size=args.cell_size, probes=args.probes
    )
    ids = np.arange(args.n, dtype=np.int64)
    groups = duplicate_groups(ids[search.rows_a], ids[search.rows_b], search.scores)
    cells_seconds, cells_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    details = search.details
    print(f"cells: {cells_seconds:.1f} s wall, {cells_cpu:.1f} s CPU (k-means {details['kmeans_seconds']} s wall, "
          f"{details['cells']} cells, "
          f"{details['probes']} probes): {len(search.scores):,} pairs >= {args.threshold}, {len(groups):,} groups; "
          f"peak RSS {peak_rss_gb():.2f} GB")  # fmt: skip

    started, cpu_started = time.perf_counter(), cpu_seconds()
    recall = cell_search_recall(embeddings, search, args.threshold, sample_rows=args.recall_sample, seed=args.seed)
    reference_seconds, reference_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    sample = min(args.recall_sample, args.n)
    scaled = reference_cpu * (args.n / sample) ** 2
    found = set(zip(search.rows_a.tolist(), search.rows_b.tolist(), strict=True))
    injected_found = sum((min(a, b), max(a, b)) in found for a, b in injected.tolist())
    print(f"agreement with brute force on {recall['sample_rows']:,} rows: {recall['found_pairs']:,} of "
          f"{recall['exact_pairs']:,} exact pairs found (recall {recall['recall']:.4f}, precision 1: every pair is "
          f"scored exactly); brute force there took {reference_seconds:.1f} s wall, {reference_cpu:.1f} s CPU: about "
          f"{scaled / 3600:.1f} CPU hours for all {args.n:,} rows")  # fmt: skip
    print(f"injected near duplicates found: {injected_found:,} of {len(injected):,} "
          f"({injected_found / max(len(injected), 1):.4f})")  # fmt: skip
    print(f"peak RSS {peak_rss_gb():.2f} GB; cell search CPU / brute-force CPU estimate = {cells_cpu / scaled:.4f}")
    del embeddings
    verification_bench(args.verify_pairs, args.verify_images, args.seed)


if __name__ == "__main__":
    main()
