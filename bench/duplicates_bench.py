"""Near-duplicate search at scale: k-means cell search vs the brute-force reference (DESIGN.md §11).

    python bench/duplicates_bench.py [--n 1000000] [--dim 512] [--threshold 0.95] [--cell-size 1000]
                                     [--probes 2] [--duplicate-rate 0.01] [--recall-sample 50000] [--seed 0]

Builds N synthetic L2-normalised float16 embeddings (as the embed job stores them) around 2,000 cluster
centres of random spread, and turns --duplicate-rate of the rows into near duplicates of other rows (a
small perturbation: cosine about 0.99). Then, in this process:
1. cells: `near_duplicate_pairs(method="cells")` (spherical k-means cells, each row compared with the
   rows of its --probes nearest cells) plus the connected-component groups; wall time and peak RSS;
2. agreement: the exact blocked all-pairs search on a random --recall-sample subset, the share of its
   pairs the cell search found (recall; every pair found is exact, so precision is 1), the share of
   injected duplicate pairs found, and the exact search's time scaled to all N rows (quadratic).
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from curation.embeddings.ml.near_duplicates import cell_search_recall, near_duplicate_pairs  # noqa: E402
from curation.ml.similarity import duplicate_groups  # noqa: E402

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


def main() -> None:
    args = parse_args()
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


if __name__ == "__main__":
    main()
