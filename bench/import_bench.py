"""Import throughput against the bare work of the same files (docs/ARCHITECTURE.md §11: bookkeeping costs little).

    python bench/import_bench.py [--n 2000] [--side 256] [--batch-size 100] [--threads T] [--rounds 3] [--keep]

Generates N JPEGs (ImageFolder layout, 10 classes) in a temporary folder, then in this process, for
each of --rounds rounds (the best round of each counts, which filters out noise from other processes):
1. the bare loop: read each file, decode it, sha256 it and make its thumbnail (`image_decode`, the
   same call the import makes), one file after another;
2. the same bare work on T threads (the import's decode threads), for the pure bookkeeping cost;
3. the import: the real `import_dataset` job run inline (`job_execute`) on the configured database, into
   an empty media folder of its own (blobs are stored by content: a round that found the previous
   round's blobs would skip every write).
Before each phase the page cache's dirty pages are flushed (os.sync), so that one phase's write-back does
not slow the next; each round also prints what writing a new blob costs on this disk at that moment (it
swings tenfold on a virtual disk; with TMPDIR=/dev/shm everything lives on tmpfs, which measures the
import without the disk). It prints images/s of each, the import's ratio against both bare
loops (target ≥ 0.7 against the single-threaded loop), CPU time per image (all threads of this process:
it shows the bookkeeping's cost even when other processes compete for the cores and make wall-clock
rates noisy), peak RSS during each, and SQL queries per file.

Django is set up here: DJANGO_SETTINGS_MODULE defaults to config.settings.local with DEBUG off (DJANGO_DEBUG
defaults to 0: DEBUG's SQL log costs what production never pays), WINNOW_VAR_DIR and
WINNOW_MEDIA_ROOT always point into a temporary folder (real data is never touched), and the default
SQLite database there is migrated first. With DATABASE_URL set, that (already migrated) database is
used instead, and the benchmark's dataset is deleted at the end unless --keep.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="number of JPEGs (default 2000, up to 100000)")
    parser.add_argument("--side", type=int, default=256, help="image width; height is 3/4 of it (default 256)")
    parser.add_argument("--batch-size", type=int, default=100, help="files per progress report (default 100)")
    parser.add_argument("--threads", type=int, default=None, help="import decode threads (default: the job's)")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds; the best counts (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the imported datasets (DATABASE_URL only)")
    args = parser.parse_args()
    if not 1 <= args.n <= 100_000:
        parser.error("--n must be between 1 and 100000")
    return args


def django_setup(var_dir: Path) -> bool:
    """Configure Django on a temporary var dir; returns True when the database is the temporary SQLite."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "0")  # as in production: DEBUG's SQL log is not the import's cost
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    os.environ["WINNOW_MEDIA_ROOT"] = str(var_dir / "media")
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    temporary = "DATABASE_URL" not in os.environ
    if temporary:
        call_command("migrate", verbosity=0, interactive=False)
    elif migrations_pending():
        sys.exit("the database at DATABASE_URL has unapplied migrations: run `manage.py migrate` first")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    return temporary


def migrations_pending() -> bool:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def images_generate(root: Path, n: int, side: int) -> list[Path]:
    """N distinct JPEGs: smooth gradients with a little noise, like photos rather than static."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    height = side * 3 // 4
    ramp_x = np.linspace(0, 1, side, dtype=np.float32)[None, :, None]
    ramp_y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    paths = []
    for index in range(n):
        colour_a, colour_b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        pixels = colour_a * (1 - ramp_x) * (1 - ramp_y) + colour_b * ramp_x * ramp_y
        pixels = pixels + rng.normal(0, 6, (height, side, 3))
        path = root / f"class_{index % CLASSES}" / f"img_{index:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def media_root(index: int) -> Path:
    """Round `index`'s own empty media folder, under the temporary one set up for the benchmark."""
    return Path(os.environ["WINNOW_MEDIA_ROOT"]) / f"round-{index + 1}"


def rss_now() -> int:
    import psutil

    return psutil.Process().memory_info().rss


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """Samples this process's RSS every 20 ms; yields a dict whose "peak" is set on exit."""
    import psutil

    process, figures, stop = psutil.Process(), {"peak": 0}, threading.Event()

    def sample() -> None:
        while not stop.is_set():
            figures["peak"] = max(figures["peak"], process.memory_info().rss)
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield figures
    finally:
        stop.set()
        thread.join()
        figures["peak"] = max(figures["peak"], process.memory_info().rss)


@contextmanager
def query_counter() -> Iterator[dict[str, int]]:
    from django.db import connection

    counts = {"queries": 0}

    def count(execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        counts["queries"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counts


def bare_loop(paths: list[Path], threads: int = 1) -> float:
    """Seconds to read + decode + sha256 + thumbnail every file, on `threads` threads."""
    from concurrent.futures import ThreadPoolExecutor

    from curation.services.ingest import image_decode

    def work(path: Path) -> None:
        image_decode(path.read_bytes())

    started = time.perf_counter()
    if threads == 1:
        for path in paths:
            work(path)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, paths))
    return time.perf_counter() - started


def import_run(source: Path, name: str, batch_size: int, threads: int, media_root: Path) -> tuple[float, Any]:
    """Seconds to run the import job inline, storing into `media_root` (empty: blobs are stored by content,
    so a round importing into the previous round's storage would find every blob already there)."""
    from django.test import override_settings

    from jobs.services import job_create, job_execute

    params = {"source": str(source), "name": name, "batch_size": batch_size, "decode_threads": threads}
    job = job_create(kind="import_dataset", params=params, requested_by=None)
    with override_settings(MEDIA_ROOT=str(media_root)):
        started = time.perf_counter()
        job = job_execute(job.pk)
        return time.perf_counter() - started, job


@dataclass
class Round:
    bare_s: float
    bare_threads_s: float
    import_s: float
    bare_cpu_s: float
    import_cpu_s: float
    bare_peak: int
    import_peak: int
    queries: int
    job: Any


def blob_create_ms(folder: Path, count: int = 400) -> float:
    """Milliseconds per new blob written through the storage API into an empty folder (file + its folders).

    Printed beside each round: on this kind of virtual disk it swings tenfold with the host's write-back,
    and the import writes two blobs per image.
    """
    from django.test import override_settings

    from core.storage import blob_key, blob_save, sha256_bytes

    data = os.urandom(11_000)
    with override_settings(MEDIA_ROOT=str(folder)):
        started = time.perf_counter()
        for index in range(count):
            digest = sha256_bytes(index.to_bytes(4, "little"))
            blob_save(key=blob_key(sha256=digest, kind="images", extension="jpg"), data=data)
        return 1000 * (time.perf_counter() - started) / count


def measure_round(paths: list[Path], source: Path, args: argparse.Namespace, threads: int, index: int) -> Round:
    # Each phase starts with no dirty pages left by the one before (generating the files, the previous
    # round's blobs): the write-back of one phase would otherwise slow the next one's file creation.
    os.sync()
    probe_ms = blob_create_ms(media_root(index).with_name(f"probe-{index + 1}"))
    os.sync()
    cpu = time.process_time()
    with peak_rss() as bare_memory:
        bare_s = bare_loop(paths)
    bare_cpu_s = time.process_time() - cpu
    bare_threads_s = bare_loop(paths, threads)
    os.sync()
    name = f"import-bench-{os.getpid()}-{int(time.time())}-{index}"
    cpu = time.process_time()
    with peak_rss() as import_memory, query_counter() as queries:
        import_s, job = import_run(source, name, args.batch_size, threads, media_root(index))
    import_cpu_s = time.process_time() - cpu
    if job.status != "succeeded":
        print(f"import {job.status}: {job.error}")
        sys.exit(1)
    print(f"round {index + 1}: bare {len(paths) / bare_s:.0f}/s, bare×{threads} {len(paths) / bare_threads_s:.0f}/s, "
          f"import {len(paths) / import_s:.0f}/s; a new blob costs {probe_ms:.2f} ms here")  # fmt: skip
    return Round(
        bare_s, bare_threads_s, import_s, bare_cpu_s, import_cpu_s,
        bare_memory["peak"], import_memory["peak"], queries["queries"], job,
    )  # fmt: skip


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="winnow-import-bench-") as temp:
        temp_dir = Path(temp)
        temporary_db = django_setup(temp_dir / "var")
        from curation.services.imports import DEFAULT_DECODE_THREADS

        threads = args.threads or DEFAULT_DECODE_THREADS
        source = temp_dir / "source"
        started = time.perf_counter()
        paths = images_generate(source, args.n, args.side)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"generated {args.n} JPEGs {args.side}×{args.side * 3 // 4} ({size_mb:.1f} MB) in "
              f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs; decode threads: {threads}")  # fmt: skip
        bare_loop(paths[:20])  # warm the decoder and the page cache
        print(f"RSS before measuring (Django and every app imported): {rss_now() / 2**20:.0f} MiB")
        rounds = [measure_round(paths, source, args, threads, index) for index in range(args.rounds)]
        report(args.n, rounds, threads)
        if not temporary_db and not args.keep:
            for measured in rounds:
                dataset_delete(measured.job.result["dataset"])


def report(n: int, rounds: list[Round], threads: int) -> None:
    bare = n / min(r.bare_s for r in rounds)
    bare_threads = n / min(r.bare_threads_s for r in rounds)
    imported = n / min(r.import_s for r in rounds)
    bare_peak, import_peak = max(r.bare_peak for r in rounds), max(r.import_peak for r in rounds)
    job = rounds[-1].job
    print(f"best of {len(rounds)} rounds:")
    rows = [
        ("bare loop, 1 thread (read + decode + sha256 + thumbnail)", bare, bare_peak),
        (f"bare loop, {threads} threads", bare_threads, 0),
        (f"import job (inline, same files, {threads} decode threads)", imported, import_peak),
    ]
    for label, rate, peak in rows:
        memory = f"  peak RSS {peak / 2**20:.0f} MiB" if peak else ""
        print(f"  {label:<58} {rate:8.1f} images/s{memory}")
    print(f"  imported {job.result['imported']}, rejected {job.result['rejected']}, "
          f"duplicates {job.result['duplicates']}; {rounds[-1].queries / n:.2f} SQL queries per file")  # fmt: skip
    verdict = "meets" if imported / bare >= 0.7 else "BELOW"
    print(f"ratio import / bare loop (1 thread)  = {imported / bare:.2f} ({verdict} the 0.7 target)")
    print(f"ratio import / bare loop ({threads} threads) = {imported / bare_threads:.2f} (the bookkeeping cost alone)")
    bare_cpu = 1000 * min(r.bare_cpu_s for r in rounds) / n
    import_cpu = 1000 * min(r.import_cpu_s for r in rounds) / n
    print(f"CPU per image (all threads): bare {bare_cpu:.2f} ms, import {import_cpu:.2f} ms; "
          f"bare / import = {bare_cpu / import_cpu:.2f}, bookkeeping {import_cpu - bare_cpu:.2f} ms")  # fmt: skip


def dataset_delete(dataset_id: int) -> None:
    from curation.models import Dataset, DatasetVersion

    DatasetVersion.objects.filter(dataset_id=dataset_id).delete()
    Dataset.objects.filter(pk=dataset_id).delete()


if __name__ == "__main__":
    main()
