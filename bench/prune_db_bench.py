"""Issue 5's benchmark: the prune job's real service path on N x d synthetic embeddings, decisions in the database.

    DATABASE_URL=postgres://.../winnow_prune_bench python bench/prune_db_bench.py            # 1M x 512, the target
    DATABASE_URL=... python bench/prune_db_bench.py --n 100000 --k 300 --dbp-k 150           # while developing

Setup (not timed): a dataset version of N samples (rows COPYed in; reused on later runs with --reuse),
and an embedding set whose float16 .npy is written chunk by chunk through the storage API (clustered
rows, 4% near copies, 1% exact copies; never all in memory). Then, timed, `prune_run_create` with
method semdedup+dbp (k = 1000 for SemDeDup, --dbp-k for DBP, eps 0.05, keep 0.5): embeddings streamed
from the memory-mapped file, exact dedup, k-means + assignment, SemDeDup, DBP (with its own k-means)
and one decision row per sample written by COPY, all in one transaction. Each stage's wall time comes
from timing wrappers around the ML calls the service makes. Afterwards, in the same process, a
straightforward per-cluster NumPy SemDeDup (sort by distance, S = X X^T, triu, column max) runs on
the same clusters; its time gives the ratio of the SemDeDup stage, and its decisions are compared.
Then the floors, also in the same process: for each k-means stage a bare FAISS spherical k-means (same
sample size, k, niter and seed) plus one IndexFlatIP search of the same rows, and for the decisions the same
binary COPY payloads into an index-free temporary table; each stage is printed next to its floor with the
wall and CPU ratios (on a loaded machine the CPU ratio is the one to read).
Target (docs/ARCHITECTURE.md §11, 2 cores): <= 90 s end to end and <= 3 GB peak RSS.

--storage s3 (bench/storage_switch.py): after the local run, the same prune_run_create again in this process with
the default storage on an S3 bucket (moto's server by default) holding the embedding set's files, read by a worker
with an empty local cache (downloaded, checksum-verified, then memory-mapped); each stage and the end-to-end time
printed beside the local run's with the ratio S3 / local.

Django: DJANGO_SETTINGS_MODULE defaults to config.settings.local; WINNOW_VAR_DIR/WINNOW_MEDIA_ROOT point
into a bench folder (--var, default a temporary one). DATABASE_URL must name a migrated database that
holds no real data: the bench dataset is deleted at the end unless --reuse.
"""

from __future__ import annotations

import argparse
import importlib
import io
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from storage_switch import cache_empty, on_s3, ratio_line, s3_bucket, storage_arguments

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DATASET = "prune-bench-{n}x{d}"
CHUNK = 16_384


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--concepts", type=int, default=2000, help="true clusters in the synthetic data")
    parser.add_argument("--k", type=int, default=1000, help="SemDeDup k-means clusters")
    parser.add_argument("--dbp-k", type=int, default=500, help="DBP k-means clusters (paper: 500 for LAION)")
    parser.add_argument("--eps", type=float, default=0.05)
    parser.add_argument("--keep-fraction", type=float, default=0.5)
    parser.add_argument("--var", type=Path, default=None, help="bench var folder (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="keep the dataset and embeddings for the next run")
    parser.add_argument("--skip-naive", action="store_true", help="skip the straightforward NumPy SemDeDup")
    parser.add_argument("--skip-floors", action="store_true", help="skip the bare FAISS and COPY floors")
    parser.add_argument("--seed", type=int, default=0)
    storage_arguments(parser)
    return parser.parse_args()


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def rss_gb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def django_setup(var_dir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    os.environ["WINNOW_MEDIA_ROOT"] = str(var_dir / "media")
    if "DATABASE_URL" not in os.environ:
        sys.exit("set DATABASE_URL to a migrated PostgreSQL database for the bench (it holds a million rows)")
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        sys.exit("the database at DATABASE_URL has unapplied migrations: run `manage.py migrate` first")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")


# --- setup ---------------------------------------------------------------------------------------------


def synthetic_chunks(n: int, d: int, n_concepts: int, seed: int):  # type: ignore[no-untyped-def]
    """Float16 unit rows in chunks: clustered with per-concept spread, 4% near copies and 1% exact copies
    of rows of the previous chunk (as bench/prune_bench.py's generator, without holding all rows)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_concepts, d), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.6, 1.6, n_concepts).astype(np.float32)
    weights = rng.dirichlet(np.full(n_concepts, 2.0))
    previous: np.ndarray | None = None
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        concept = rng.choice(n_concepts, size=size, p=weights)
        block = rng.standard_normal((size, d), dtype=np.float32) * spread[concept, None] / np.sqrt(d)
        block += centres[concept]
        if previous is not None:
            near = rng.random(size) < 0.04
            source = previous[rng.integers(0, previous.shape[0], near.sum())].astype(np.float32)
            block[near] = source + 0.02 / np.sqrt(d) * rng.standard_normal((near.sum(), d), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out = block.astype(np.float16)
        if previous is not None:
            exact = rng.random(size) < 0.01
            out[exact] = previous[rng.integers(0, previous.shape[0], exact.sum())]
        previous = out
        yield out


def version_create(name: str, n: int) -> Any:
    """A dataset version of n samples, rows COPYed in; returns the version."""
    from django.db import connection, transaction

    from curation.models import Dataset, DatasetVersion, Sample, VersionSample

    with transaction.atomic():
        dataset = Dataset.objects.create(name=name, classes=[f"class{i}" for i in range(10)])
        version = DatasetVersion.objects.create(dataset=dataset, number=1, operation="import", sample_count=n)
        sample_columns = "dataset_id, sha256, image_key, thumbnail_key, mask_key, original_name, width, height, "
        sample_columns += "format, mode, file_size, source, caption, provenance, created_at"
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {Sample._meta.db_table} ({sample_columns}) FROM STDIN") as copy:
                for i in range(n):
                    key = f"bench/{i}.png"
                    copy.write_row(
                        (dataset.pk, f"{i:064x}", key, key, "", f"{i}.png", 32, 32, "PNG", "RGB", 1, "real", "", "{}",
                         "2026-01-01T00:00:00Z")
                    )  # fmt: skip
            sql = f"SELECT id FROM {Sample._meta.db_table} WHERE dataset_id = %s ORDER BY id"  # noqa: S608
            cursor.execute(sql, [dataset.pk])
            ids = [row[0] for row in cursor.fetchall()]
            columns = "version_id, sample_id, split, label, label_origin, labels"
            with cursor.copy(f"COPY {VersionSample._meta.db_table} ({columns}) FROM STDIN") as copy:
                for i, sample_id in enumerate(ids):
                    label = f"class{i % 10}"
                    labels = json.dumps([{"label": label, "origin": "import"}])
                    copy.write_row((version.pk, sample_id, "train", label, "import", labels))
    return version


def embedding_set_create(version: Any, args: argparse.Namespace) -> Any:
    """The float16 embeddings written chunk by chunk (sorted sample ids as row ids), with checksums."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
    from curation.pruning.services.embeddings import version_member_ids

    ids = version_member_ids(version)
    folder = f"embeddings/bench/{version.pk}"
    path = Path(default_storage.path(f"{folder}/embeddings.npy"))
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": np.dtype(np.float16).str, "fortran_order": False, "shape": (args.n, args.d)}
        )
        chunks = (chunk.tobytes() for chunk in synthetic_chunks(args.n, args.d, args.concepts, args.seed))
        for part in itertools.chain([header.getvalue()], chunks):
            handle.write(part)
            digest.update(part)
    buffer = io.BytesIO()
    np.save(buffer, ids)
    row_ids_key = default_storage.save(f"{folder}/row_ids.npy", ContentFile(buffer.getvalue()))
    return EmbeddingSet.objects.create(
        dataset=version.dataset,
        version=version,
        encoder_name="bench:synthetic",
        dim=args.d,
        status=EmbeddingSetStatus.READY,
        planned_rows=args.n,
        rows=args.n,
        embeddings_key=f"{folder}/embeddings.npy",
        row_ids_key=row_ids_key,
        checksum=digest.hexdigest(),
        row_ids_checksum=hashlib.sha256(buffer.getvalue()).hexdigest(),
    )


def bench_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    from curation.embeddings.models import EmbeddingSet
    from curation.models import DatasetVersion

    name = BENCH_DATASET.format(n=args.n, d=args.d)
    version = DatasetVersion.objects.filter(dataset__name=name, number=1).first()
    embedding_set = EmbeddingSet.objects.filter(version=version).first() if version else None
    if version is not None and embedding_set is not None and Path(embedding_set_path(embedding_set)).exists():
        print(f"reusing dataset {name!r} (version {version.pk}, embedding set {embedding_set.pk})")
        return version, embedding_set
    if version is not None:
        bench_data_delete(version)
    started = time.perf_counter()
    version = version_create(name, args.n)
    print(f"setup: {args.n} samples and members inserted in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    embedding_set = embedding_set_create(version, args)
    print(f"setup: float16 embeddings written in {time.perf_counter() - started:.1f} s, rss {rss_gb():.2f} GB")
    return version, embedding_set


def embedding_set_path(embedding_set: Any) -> str:
    from django.core.files.storage import default_storage

    return default_storage.path(embedding_set.embeddings_key)


def bench_data_delete(version: Any) -> None:
    from django.db import transaction

    from curation.embeddings.models import EmbeddingSet
    from curation.models import Dataset, DatasetVersion, Sample, VersionSample
    from curation.pruning.models import PruneRun

    with transaction.atomic():
        dataset = version.dataset
        PruneRun.objects.filter(version__dataset=dataset).delete()
        EmbeddingSet.objects.filter(dataset=dataset).delete()
        VersionSample.objects.filter(version__dataset=dataset).delete()
        DatasetVersion.objects.filter(dataset=dataset).delete()
        Sample.objects.filter(dataset=dataset).delete()
        Dataset.objects.filter(pk=dataset.pk).delete()


# --- timed pipeline ------------------------------------------------------------------------------------


class StageTimer:
    """Wraps module attributes with timing wrappers; remembers the results it is asked to keep."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.kept: dict[str, Any] = {}
        self.originals: dict[str, Any] = {}
        self.wrapped: list[tuple[Any, str, Any]] = []

    def wrap(self, module: Any, attribute: str, label: str, keep: bool = False) -> None:
        original = getattr(module, attribute)
        self.originals[label] = original
        self.wrapped.append((module, attribute, original))

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = original(*args, **kwargs)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            name = label if label not in self.seconds else f"{label} (2)"
            self.seconds[name], self.cpu_seconds[name] = elapsed, cpu
            print(
                f"  {name:<34} {elapsed:7.1f} s  cpu {cpu:6.1f} s  rss {rss_gb():.2f} GB  peak {peak_rss_gb():.2f} GB",
                flush=True,
            )
            if keep and label not in self.kept:
                self.kept[label] = (args, kwargs, result)
            return result

        setattr(module, attribute, timed)

    def unwrap(self) -> None:
        """The wrapped functions back as they were (another run is timed by another timer)."""
        for module, attribute, original in reversed(self.wrapped):
            setattr(module, attribute, original)
        self.wrapped = []


def run_prune(version: Any, embedding_set: Any, args: argparse.Namespace) -> tuple[Any, StageTimer, float, float]:
    # Modules by name: the package exports functions that shadow the submodules `semdedup` and `dbp`.
    dbp_module = importlib.import_module("curation.ml.pruning.dbp")
    pipeline = importlib.import_module("curation.ml.pruning.pipeline")
    semdedup_module = importlib.import_module("curation.ml.pruning.semdedup")
    service = importlib.import_module("curation.pruning.services.pruning")
    from curation.pruning.services.params import prune_params_validate

    timer = StageTimer()
    timer.wrap(service, "version_embeddings_load", "read embeddings (memory map)")
    timer.wrap(pipeline, "exact_dedup", "exact dedup")
    timer.wrap(semdedup_module, "spherical_kmeans", "k-means + assignment", keep=True)
    timer.wrap(semdedup_module, "_cluster_scores", "SemDeDup scores", keep=True)
    timer.wrap(dbp_module, "spherical_kmeans", "DBP k-means + assignment", keep=True)
    timer.wrap(dbp_module, "_dbp_rows", "DBP (incl. its k-means)")
    timer.wrap(service, "decisions_write", "decisions COPY (1 row per sample)", keep=True)
    timer.wrap(service, "_prune_run_store", "store: run, COPY, FK checks, commit")
    params = prune_params_validate(
        version_id=version.pk,
        method="semdedup+dbp",
        embedding_set_id=embedding_set.pk,
        keep_fraction=args.keep_fraction,
        eps=args.eps,
        n_clusters=args.k,
        dbp_n_clusters=args.dbp_k,
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    run = service.prune_run_create(params=params)
    return run, timer, time.perf_counter() - started, time.process_time() - cpu_started


def naive_semdedup(vectors: np.ndarray, rows: np.ndarray, cluster: np.ndarray, distance: np.ndarray, eps: float):  # type: ignore[no-untyped-def]
    """Straightforward per-cluster SemDeDup (docs/METHODS.md §1): hardest first, S = X X^T, triu, column max."""
    remove = np.zeros(rows.size, dtype=bool)
    order = np.lexsort((np.arange(rows.size), -distance, cluster))
    bounds = np.searchsorted(cluster[order], np.arange(int(cluster.max()) + 2))
    for start, stop in itertools.pairwise(bounds):
        members = order[start:stop]
        if members.size < 2:
            continue
        x = vectors[rows[members]]
        similarity = np.triu(x @ x.T, k=1)
        remove[members] = similarity.max(axis=0) > 1 - eps
    return remove


# --- floors, measured in the same process --------------------------------------------------------------


def bare_kmeans(embeddings: np.ndarray, rows: np.ndarray, k: int, config: Any) -> tuple[float, float]:
    """The floor of a k-means stage: a seeded sample of k * 256 rows, FAISS spherical k-means on it, then one
    IndexFlatIP search of every row in 32k-row blocks. Wall and CPU seconds."""
    import faiss

    started, cpu_started = time.perf_counter(), time.process_time()
    cap = k * config.max_points_per_centroid
    chosen = (
        rows
        if rows.size <= cap
        else rows[np.sort(np.random.default_rng(config.seed).choice(rows.size, cap, replace=False))]
    )
    kmeans = faiss.Kmeans(
        embeddings.shape[1], k, niter=config.niter, seed=config.seed, spherical=True,
        max_points_per_centroid=config.max_points_per_centroid, min_points_per_centroid=1,
    )  # fmt: skip
    kmeans.train(embeddings[chosen])
    for start in range(0, rows.size, 32_768):
        kmeans.index.search(embeddings[rows[start : start + 32_768]], 1)
    return time.perf_counter() - started, time.process_time() - cpu_started


def bare_copy(payloads: list[bytes]) -> tuple[float, float]:
    """The floor of the decisions write: the same binary COPY payloads into an index-free temporary table."""
    from django.db import connection, transaction

    from curation.pruning.models import PruneDecision

    table = PruneDecision._meta.db_table
    columns = "prune_run_id, sample_id, keep, reason, score, duplicate_of_id, cluster"
    started, cpu_started = time.perf_counter(), time.process_time()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE bench_decision_floor (LIKE {table} INCLUDING IDENTITY INCLUDING DEFAULTS) "
            "ON COMMIT DROP"
        )
        for payload in payloads:
            with cursor.copy(f"COPY bench_decision_floor ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.write(payload)
    return time.perf_counter() - started, time.process_time() - cpu_started


def copy_payloads(timer: StageTimer) -> list[bytes]:
    decisions_module = importlib.import_module("curation.pruning.services.decisions")
    (run_id, decisions), _, _ = timer.kept["decisions COPY (1 row per sample)"]
    total, batch = decisions.sample_ids.size, decisions_module.BATCH_ROWS
    frame = decisions_module._COPY_HEADER, decisions_module._COPY_TRAILER
    return [
        frame[0] + decisions_module.binary_copy_rows(*decisions.columns(run_id, slice(start, start + batch))) + frame[1]
        for start in range(0, total, batch)
    ]


def floors_report(timer: StageTimer, summary: dict[str, object]) -> None:
    """Each stage next to its floor run here, after the pipeline: wall seconds, ratio, load average."""
    print(f"floors (same process, after the pipeline; load {os.getloadavg()}):")
    ratios: dict[str, object] = {}
    for label in ("k-means + assignment", "DBP k-means + assignment"):
        (embeddings, config), _kwargs, result = timer.kept[label]
        rows = np.flatnonzero(result.labels >= 0)
        floor, floor_cpu = bare_kmeans(embeddings, rows, result.n_clusters, config)
        ours, ours_cpu = timer.seconds[label], timer.cpu_seconds[label]
        print(
            f"  {label:<34} {ours:7.1f} s (cpu {ours_cpu:6.1f} s)   bare FAISS {floor:7.1f} s (cpu {floor_cpu:6.1f} s)"
            f"   ratio wall {ours / floor:.2f}, cpu {ours_cpu / floor_cpu:.2f}"
        )
        ratios[label] = {"s": round(ours, 1), "floor_s": round(floor, 1), "ratio": round(ours / floor, 2)}
        ratios[label] |= {"cpu_s": round(ours_cpu, 1), "floor_cpu_s": round(floor_cpu, 1)}
    started = time.perf_counter()
    payloads = copy_payloads(timer)
    build = time.perf_counter() - started
    floor, _ = bare_copy(payloads)
    label = "decisions COPY (1 row per sample)"
    ours = timer.seconds[label]
    print(
        f"  {label:<34} {ours:7.1f} s   payload build {build:.1f} s + COPY into an index-free temp table "
        f"{floor:.1f} s   ratio {ours / (build + floor):.2f}"
    )
    ratios[label] = {"s": round(ours, 1), "floor_s": round(build + floor, 1), "ratio": round(ours / (build + floor), 2)}
    summary["floors"] = ratios


def s3_run(version: Any, embedding_set: Any, args: argparse.Namespace, local: StageTimer, local_total: float) -> dict:
    """The prune job again with the set's files on an S3 bucket, read by a worker that never saw them."""
    import shutil

    from django.core.files.storage import default_storage

    from core.storage import storage_file_store

    local.unwrap()
    files = [(embedding_set.embeddings_key, embedding_set.checksum)]
    files.append((embedding_set.row_ids_key, embedding_set.row_ids_checksum))
    on_disk = {key: default_storage.path(key) for key, _ in files}
    with s3_bucket(args.s3_endpoint) as bucket, on_s3(bucket, args.s3_endpoint), tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for key, sha256 in files:  # as the finalize step of an embedding job on another worker publishes them
            copy = Path(tmp) / Path(key).name
            shutil.copyfile(on_disk[key], copy)
            storage_file_store(key=key, path=copy, sha256=sha256)
        cache_empty()
        print(f"S3 ({args.s3_endpoint}): the set's files uploaded in {time.perf_counter() - started:.1f} s; "
              "the same pipeline with an empty local cache:")  # fmt: skip
        _run, timer, total, _cpu = run_prune(version, embedding_set, args)
        timer.unwrap()
    print(f"S3 / local (same process; load {os.getloadavg()}):")
    figures: dict[str, object] = {}
    for label, seconds in timer.seconds.items():
        if label in local.seconds:
            print(ratio_line(label, local.seconds[label], seconds))
            figures[label] = {"local_s": round(local.seconds[label], 2), "s3_s": round(seconds, 2)}
    print(ratio_line("END TO END", local_total, total))
    figures["end to end"] = {"local_s": round(local_total, 1), "s3_s": round(total, 1)}
    return figures


def main() -> None:
    args = parse_args()
    var_dir = args.var or Path(tempfile.mkdtemp(prefix="winnow-prune-bench-"))
    django_setup(var_dir)
    import faiss

    print(f"cores {os.cpu_count()}, faiss threads {faiss.omp_get_max_threads()}, load {os.getloadavg()}")
    version, embedding_set = bench_inputs(args)
    baseline = rss_gb()
    print(f"before the pipeline: rss {baseline:.2f} GB (Django and every app's imports), peak {peak_rss_gb():.2f} GB")
    print(f"pipeline: prune_run_create(semdedup+dbp, k={args.k}, dbp k={args.dbp_k}) on {args.n} x {args.d}:")
    load_before = os.getloadavg()
    run, timer, total, total_cpu = run_prune(version, embedding_set, args)
    peak = peak_rss_gb()
    counts = {s["method"]: s["n_kept"] for s in run.summary["stages"]}
    print(
        f"  {'END TO END':<34} {total:7.1f} s  cpu {total_cpu:6.1f} s  peak RSS {peak:.2f} GB  kept per stage {counts}"
    )
    print(f"  load average before {load_before}, after {os.getloadavg()}")
    summary: dict[str, object] = {"n": args.n, "d": args.d, "total_s": round(total, 1), "peak_rss_gb": round(peak, 2)}
    summary["total_cpu_s"] = round(total_cpu, 1)
    summary["pipeline_rss_gb"] = round(peak - baseline, 2)
    print(f"  peak above the process baseline: {peak - baseline:.2f} GB")
    summary["stages_s"] = {name: round(value, 1) for name, value in timer.seconds.items()}
    summary["stages_cpu_s"] = {name: round(value, 1) for name, value in timer.cpu_seconds.items()}
    if not args.skip_naive:
        (embeddings, rows, cluster, _key, _config), _, (best, _) = timer.kept["SemDeDup scores"]
        assignment = timer.kept["k-means + assignment"][2]
        distance = assignment.dist_to_centroid[rows]
        started, cpu_started = time.perf_counter(), time.process_time()
        naive_remove = naive_semdedup(embeddings, rows, cluster, distance, args.eps)
        naive, naive_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        ours, ours_cpu = timer.seconds["SemDeDup scores"], timer.cpu_seconds["SemDeDup scores"]
        our_remove = best.astype(np.float64) > 1.0 - args.eps
        differ = int(np.count_nonzero(naive_remove != our_remove))
        print(
            f"  {'naive per-cluster NumPy SemDeDup':<34} {naive:7.1f} s  cpu {naive_cpu:6.1f} s   "
            f"SemDeDup stage / naive: wall {ours / naive:.2f}, cpu {ours_cpu / naive_cpu:.2f}"
        )
        print(
            f"    removed: naive {int(naive_remove.sum())}, ours {int(our_remove.sum())}, decisions differing {differ}"
        )
        summary.update(semdedup_s=round(ours, 1), naive_semdedup_s=round(naive, 1), ratio=round(ours / naive, 2))
        summary["cpu_ratio"] = round(ours_cpu / naive_cpu, 2)
        # Ours again, after the naive run: on a shared machine the order changes what each gets.
        started, cpu_started = time.perf_counter(), time.process_time()
        timer.originals["SemDeDup scores"](embeddings, rows, cluster, _key, _config)
        again, again_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(
            f"  {'SemDeDup scores again, after naive':<34} {again:7.1f} s  cpu {again_cpu:6.1f} s   "
            f"/ naive: wall {again / naive:.2f}, cpu {again_cpu / naive_cpu:.2f}"
        )
        summary.update(semdedup_again_s=round(again, 1), semdedup_again_cpu_s=round(again_cpu, 1))
        summary["naive_semdedup_cpu_s"] = round(naive_cpu, 1)
    if not args.skip_floors:
        floors_report(timer, summary)
    if args.storage == "s3":
        summary["s3"] = s3_run(version, embedding_set, args, timer, total)
    if not args.reuse:
        bench_data_delete(version)
    print(f"load {os.getloadavg()}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
