"""Export throughput and memory (DESIGN.md §11: constant memory; manifests ≥ 50k rows/s).

    python bench/export_bench.py [--n 100000] [--small 10000] [--blobs 300] [--side 128] [--shard-size 1000]

Builds a version of N members quickly: --blobs real JPEGs (side × 3/4 side) are stored once through
the storage API, and N Sample rows are bulk-inserted pointing at them in turn (each row gets its own
sha256 of its index, since a dataset's hashes are unique; the bytes behind a row are one of the
blobs, so the files are real while the rows are cheap). Then, in this process, with the RSS sampled
every 20 ms:
1. the JSONL manifest export job (inline, `job_execute`): rows/s and peak RSS above the baseline,
   on a version of --small members and on the N-member one (flat memory: the two peaks match);
2. the WebDataset export job (shards of --shard-size): MB/s of shard bytes written;
3. a raw copy of the same files (every member's blob streamed from storage into one temporary
   file, in the same order, same chunk size): MB/s; the ratio WebDataset / raw copy.

Django is set up as in bench/import_bench.py: DJANGO_SETTINGS_MODULE defaults to
config.settings.local, WINNOW_VAR_DIR and WINNOW_MEDIA_ROOT point into a temporary folder, and the
temporary SQLite database there is migrated. With DATABASE_URL set, that (migrated) database is used
and the benchmark's datasets are deleted at the end unless --keep.
"""

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INSERT_BATCH = 5000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="members of the large version (default 100000)")
    parser.add_argument("--small", type=int, default=10_000, help="members of the small version (default 10000)")
    parser.add_argument("--blobs", type=int, default=300, help="distinct real JPEGs behind the rows (default 300)")
    parser.add_argument("--side", type=int, default=128, help="JPEG width; height is 3/4 of it (default 128)")
    parser.add_argument("--shard-size", type=int, default=1000, help="WebDataset samples per shard (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark datasets (DATABASE_URL only)")
    return parser.parse_args()


def django_setup(var_dir: Path) -> bool:
    """Configure Django on a temporary var dir; returns True when the database is the temporary SQLite."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
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
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    return temporary


def rss_now() -> int:
    import psutil

    return psutil.Process().memory_info().rss


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """Samples this process's RSS every 20 ms; yields a dict whose "peak" is set on exit."""
    import psutil

    process, figures, stop = psutil.Process(), {"peak": 0}, threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            figures["peak"] = max(figures["peak"], process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield figures
    finally:
        stop.set()
        thread.join()
        figures["peak"] = max(figures["peak"], process.memory_info().rss)


def blobs_store(count: int, side: int) -> list[tuple[str, int]]:
    """`count` distinct JPEGs (gradients with noise) stored as blobs; returns (key, size) of each."""
    import numpy as np
    from PIL import Image

    from core.storage import blob_key, blob_save, sha256_bytes

    rng = np.random.default_rng(0)
    height = side * 3 // 4
    stored = []
    for _ in range(count):
        base = rng.integers(0, 255, size=3)
        ramp = np.linspace(0, 60, side)[None, :, None] + np.linspace(0, 60, height)[:, None, None]
        pixels = np.clip(base + ramp + rng.normal(0, 12, (height, side, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
        key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")
        blob_save(key=key, data=data)
        stored.append((key, len(data)))
    return stored


def version_build(name: str, n: int, blobs: list[tuple[str, int]]) -> Any:
    """A dataset with version 1 of `n` members whose rows point at `blobs` in turn (bulk inserts)."""
    import hashlib

    from curation.models import Dataset, DatasetVersion, Sample, VersionSample

    classes = [f"class_{i:02d}" for i in range(10)]
    splits = ["train"] * 8 + ["val", "test"]
    dataset = Dataset.objects.create(name=name, classes=classes)
    version = DatasetVersion.objects.create(dataset=dataset, number=1, operation="import", sample_count=n)

    def sample(index: int) -> Sample:
        key, size = blobs[index % len(blobs)]
        return Sample(
            dataset=dataset, sha256=hashlib.sha256(f"{name}:{index}".encode()).hexdigest(), image_key=key,
            thumbnail_key=key, original_name=f"img_{index}.jpg", width=128, height=96, format="JPEG", mode="RGB",
            file_size=size, provenance={"original_path": f"{classes[index % 10]}/img_{index}.jpg"},
        )  # fmt: skip

    def member(index: int, sample: Sample) -> VersionSample:
        label = classes[index % 10]
        labels = [{"label": label, "origin": "import"}]
        return VersionSample(version=version, sample=sample, split=splits[index % 10], label=label, labels=labels)

    for start in range(0, n, INSERT_BATCH):
        indices = range(start, min(start + INSERT_BATCH, n))
        samples = Sample.objects.bulk_create([sample(index) for index in indices])
        VersionSample.objects.bulk_create(member(index, row) for index, row in zip(indices, samples, strict=True))
    return version


def export_timed(version: Any, format: str, **options: Any) -> tuple[float, float, int, Any]:
    """Run an export job inline; returns (seconds, CPU seconds, peak RSS above the RSS before it, the export)."""
    from curation.exports.services.exports import export_create_inline
    from jobs.services import job_execute

    export = export_create_inline(version=version, format=format, options=options, requested_by=None)
    baseline = rss_now()
    with peak_rss() as memory:
        started, cpu_started = time.perf_counter(), time.process_time()
        job = job_execute(export.job_id)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if job.status != "succeeded":
        raise SystemExit(f"export job {job.pk} {job.status}: {job.error}")
    export.refresh_from_db()
    return elapsed, cpu, memory["peak"] - baseline, export


def raw_copy(version: Any) -> tuple[float, float, int]:
    """Stream every member's blob into one temporary file, in sample-id order; returns (s, CPU s, bytes)."""
    import shutil

    from django.core.files.storage import default_storage

    from curation.exports.selectors import export_member_batches
    from curation.exports.services.outputs import COPY_CHUNK_BYTES

    copied = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as out:
        for batch in export_member_batches(version.pk):
            for member in batch:
                with default_storage.open(member.image_key, "rb") as source:
                    shutil.copyfileobj(source, out, COPY_CHUNK_BYTES)
        copied = out.tell()
    return time.perf_counter() - started, time.process_time() - cpu_started, copied


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="winnow-export-bench-") as temp:
        temporary_db = django_setup(Path(temp) / "var")
        stamp = int(time.time())
        started = time.perf_counter()
        blobs = blobs_store(args.blobs, args.side)
        small = version_build(f"export-bench-small-{stamp}", args.small, blobs)
        large = version_build(f"export-bench-{stamp}", args.n, blobs)
        average_kb = sum(size for _, size in blobs) / len(blobs) / 1024
        built_s = time.perf_counter() - started
        print(f"built versions of {args.small} and {args.n} members over {args.blobs} JPEGs "
              f"(avg {average_kb:.1f} KiB) in {built_s:.1f} s; {os.cpu_count()} CPUs")  # fmt: skip
        print(f"RSS before measuring (Django and every app imported): {rss_now() / 2**20:.0f} MiB")
        try:
            report(args, small, large)
        finally:
            if not temporary_db and not args.keep:
                for version in (small, large):
                    datasets_delete(version)


def report(args: argparse.Namespace, small: Any, large: Any) -> None:
    """Wall-clock rates, and rates per CPU second of this process (robust when other processes share
    the cores: the CPU figures are what the export itself costs)."""
    small_s, small_cpu, small_peak, _ = export_timed(small, "jsonl")
    large_s, large_cpu, large_peak, jsonl = export_timed(large, "jsonl")
    print("JSONL manifest (export job inline):")
    for n, wall, cpu, peak in ((args.small, small_s, small_cpu, small_peak), (args.n, large_s, large_cpu, large_peak)):
        print(f"  {n:>7} rows: {n / wall:8.0f} rows/s wall, {n / cpu:8.0f} rows per CPU s,  "
              f"peak RSS +{peak / 2**20:.1f} MiB")  # fmt: skip
    rate = args.n / large_s
    print(f"  {jsonl.size / 1e6:.1f} MB manifest; {'meets' if rate >= 50_000 else 'BELOW'} the 50k rows/s target "
          f"(wall clock); peak RSS large / small = {max(large_peak, 1) / max(small_peak, 1):.2f} "
          f"for {args.n // args.small}x the rows")  # fmt: skip
    raw_copy(large)  # warms the page cache for both measurements
    raw_s, raw_cpu, raw_bytes = raw_copy(large)
    wds_s, wds_cpu, wds_peak, shards = export_timed(large, "webdataset", shard_size=args.shard_size)
    tar_bytes = sum(item["size"] for item in shards.files if item["name"].endswith(".tar"))
    print(f"WebDataset shards ({args.shard_size} samples each, {len(shards.files) - 1} shards, "
          f"{tar_bytes / 1e6:.0f} MB; the image bytes are {raw_bytes / 1e6:.0f} MB):")  # fmt: skip
    rows = [("export job", tar_bytes, wds_s, wds_cpu, f"  peak RSS +{wds_peak / 2**20:.1f} MiB"),
            ("raw copy of the images", raw_bytes, raw_s, raw_cpu, "")]  # fmt: skip
    for label, size, wall, cpu, extra in rows:
        print(f"  {label:<24} {size / 1e6 / wall:7.1f} MB/s wall ({args.n / wall:6.0f} files/s), "
              f"{size / 1e6 / cpu:7.1f} MB per CPU s ({args.n / cpu:6.0f} files per CPU s){extra}")  # fmt: skip
    print(f"  ratio export / raw copy: {(tar_bytes / wds_s) / (raw_bytes / raw_s):.2f} MB/s wall, "
          f"{(tar_bytes / wds_cpu) / (raw_bytes / raw_cpu):.2f} MB per CPU s; files/s {raw_s / wds_s:.2f} wall, "
          f"{raw_cpu / wds_cpu:.2f} per CPU s")  # fmt: skip


def datasets_delete(version: Any) -> None:
    from curation.exports.models import Export
    from curation.exports.services.outputs import export_files_delete
    from curation.models import Dataset, DatasetVersion, Sample

    for export_id in Export.objects.filter(version=version).values_list("id", flat=True):
        export_files_delete(export_id)
    Export.objects.filter(version=version).delete()
    DatasetVersion.objects.filter(pk=version.pk).delete()
    Sample.objects.filter(dataset_id=version.dataset_id).delete()
    Dataset.objects.filter(pk=version.dataset_id).delete()


if __name__ == "__main__":
    main()
