"""Benchmark: exact dedup + k-means + SemDeDup + DBP on synthetic clustered embeddings (docs/ARCHITECTURE.md §11).

Target: 1M x 512 float32 in <= 90 s and <= 3 GB peak RSS on 2 cores. Prints seconds per stage
(wall, and CPU time: on a shared machine cpu/wall well under 2 means other processes took the
cores), the total, peak RSS, and the ratio against the bare FAISS/GEMM work done in the same process
afterwards (FAISS k-means + assignment for both clusterings, and one X X^T GEMM per SemDeDup
cluster, with nothing else around them).

    .venv/bin/python bench/prune_bench.py --n 50000       # while developing
    .venv/bin/python bench/prune_bench.py                 # 1M x 512, the target
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.ml.clustering import KMeansConfig, spherical_kmeans
from curation.ml.pruning import DBPConfig, SemDeDupConfig, density_based_pruning, exact_dedup, semdedup

T = TypeVar("T")


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def rss_gb() -> float:
    return psutil.Process().memory_info().rss / 2**30


def synthetic_embeddings(n: int, d: int, n_concepts: int, seed: int) -> np.ndarray:
    """Unit rows around `n_concepts` centres with per-concept spread; 4% near copies, 1% exact copies."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_concepts, d), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.6, 1.6, n_concepts).astype(np.float32)
    weights = rng.dirichlet(np.full(n_concepts, 2.0))
    x = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 16_384):
        stop = min(start + 16_384, n)
        concept = rng.choice(n_concepts, size=stop - start, p=weights)
        block = rng.standard_normal((stop - start, d), dtype=np.float32)
        block *= spread[concept, None] / np.sqrt(d, dtype=np.float32)
        block += centres[concept]
        if start > 0:
            near = rng.random(stop - start) < 0.04
            block[near] = x[rng.integers(0, start, near.sum())] + 0.02 / np.sqrt(d) * rng.standard_normal(
                (near.sum(), d), dtype=np.float32
            )
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        if start > 0:
            exact = rng.random(stop - start) < 0.01
            block[exact] = x[rng.integers(0, start, exact.sum())]
        x[start:stop] = block
    return x


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def timed(label: str, seconds: dict[str, float], fn: Callable[[], T]) -> T:
    """Run fn, record its wall time, print it with CPU time (cpu/wall near 2 means both cores were ours)."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    result = fn()
    seconds[label] = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    print(
        f"  {label:<28} {seconds[label]:7.1f} s  cpu {cpu:6.1f} s  rss {rss_gb():.2f} GB  peak {peak_rss_gb():.2f} GB",
        flush=True,
    )
    return result


def run_pipeline(x: np.ndarray, args: argparse.Namespace) -> tuple[dict[str, float], dict[str, int], np.ndarray]:
    seconds: dict[str, float] = {}
    exact = timed("exact dedup (row hashes)", seconds, lambda: exact_dedup(x))
    kmeans = KMeansConfig(n_clusters=args.k, niter=args.niter)
    clusters = timed("k-means + assignment", seconds, lambda: spherical_kmeans(x, kmeans, rows=exact.keep))
    print(f"    of which train {clusters.train_seconds:.1f} s, assignment {clusters.assign_seconds:.1f} s")
    dedup = timed(
        "SemDeDup", seconds, lambda: semdedup(x, SemDeDupConfig(eps=args.eps, kmeans=kmeans), clusters=clusters)
    )
    dbp_kmeans = KMeansConfig(n_clusters=args.k_dbp, niter=args.niter)
    dbp_config = DBPConfig(keep_fraction=args.keep_fraction, kmeans=dbp_kmeans)
    dbp = timed("DBP (incl. its k-means)", seconds, lambda: density_based_pruning(x, dbp_config, rows=dedup.keep))
    print(f"    of which k-means + assignment {dbp.params['seconds_kmeans']:.1f} s")
    counts = {
        "n": x.shape[0],
        "after_exact": exact.n_kept,
        "after_semdedup": dedup.n_kept,
        "after_dbp": dbp.n_kept,
        "largest_semdedup_cluster": int(clusters.sizes.max()),
    }
    return seconds, counts, np.flatnonzero(dedup.keep)


def bare_kmeans(x: np.ndarray, rows: np.ndarray | None, k: int, niter: int) -> np.ndarray:
    """FAISS spherical k-means (FAISS's own 256-per-centroid sampling) and a batched nearest-centroid search."""
    km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=1234, spherical=True, max_points_per_centroid=256)
    if rows is None:
        km.train(x)
    else:
        km.train(x[np.sort(np.random.default_rng(0).choice(rows, min(rows.size, 256 * k), replace=False))])
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(km.centroids)
    rows = np.arange(x.shape[0]) if rows is None else rows
    labels = np.empty(rows.size, dtype=np.int64)
    for start in range(0, rows.size, 65_536):
        labels[start : start + 65_536] = index.search(x[rows[start : start + 65_536]], 1)[1][:, 0]
    return labels


def bare_gemms(x: np.ndarray, labels: np.ndarray) -> None:
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(labels.max() + 2))
    for start, stop in itertools.pairwise(bounds):
        members = x[order[start:stop]]
        members @ members.T


def run_bare(x: np.ndarray, args: argparse.Namespace, survivors: np.ndarray) -> dict[str, float]:
    seconds: dict[str, float] = {}
    labels = timed("bare k-means + assign", seconds, lambda: bare_kmeans(x, None, args.k, args.niter))
    timed("bare per-cluster GEMMs", seconds, lambda: bare_gemms(x, labels))
    timed("bare DBP k-means + assign", seconds, lambda: bare_kmeans(x, survivors, args.k_dbp, args.niter))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--concepts", type=int, default=2000, help="true clusters in the synthetic data")
    parser.add_argument("--k", type=int, default=1000, help="SemDeDup k-means clusters")
    parser.add_argument("--k-dbp", type=int, default=500, help="DBP k-means clusters (paper: 500 for LAION)")
    parser.add_argument("--niter", type=int, default=20)
    parser.add_argument("--eps", type=float, default=0.05)
    parser.add_argument("--keep-fraction", type=float, default=0.5)
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"cores {os.cpu_count()}, faiss threads {faiss.omp_get_max_threads()}, load {os.getloadavg()}")
    started = time.perf_counter()
    x = synthetic_embeddings(args.n, args.d, args.concepts, args.seed)
    generated = time.perf_counter() - started
    print(f"data {args.n} x {args.d} float32 generated in {generated:.1f} s, peak {peak_rss_gb():.2f} GB")

    print("pipeline:")
    seconds, counts, survivors = run_pipeline(x, args)
    total = sum(seconds.values())
    peak = peak_rss_gb()
    print(f"  {'TOTAL':<28} {total:7.1f} s   peak RSS {peak:.2f} GB   counts {counts}")
    summary: dict[str, object] = {"n": args.n, "d": args.d, "total_s": round(total, 1), "peak_rss_gb": round(peak, 2)}
    if not args.skip_bare:
        print("bare FAISS/GEMM work, same process:")
        bare = run_bare(x, args, survivors)
        bare_total = sum(bare.values())
        print(f"  {'BARE TOTAL':<28} {bare_total:7.1f} s   pipeline / bare = {total / bare_total:.2f}")
        summary.update(bare_s=round(bare_total, 1), ratio=round(total / bare_total, 2))
    print(f"load {os.getloadavg()}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
