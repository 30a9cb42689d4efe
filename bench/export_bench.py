"""Export throughput and memory (docs/ARCHITECTURE.md §11: constant memory; manifests ≥ 50k rows/s) beside floors.

    python bench/export_bench.py [--n 100000] [--small 10000] [--blobs 300] [--side 128] [--shard-size 1000]

Builds a version of N members quickly: --blobs real JPEGs (side × 3/4 side) are stored once through
the storage API, and N Sample rows are bulk-inserted pointing at them in turn (each row gets its own
sha256 of its index, since a dataset's hashes are unique; the bytes behind a row are one of the
blobs, so the files are real while the rows are cheap). Then, in this process, with the RSS sampled
every 20 ms:
1. the JSONL manifest export job (inline, `job_execute`): rows/s and peak RSS above the baseline,
   on a version of --small members and on the N-member one (flat memory: the two peaks match);
   beside it its floor, measured in the same run over the same rows: a bare keyset read (one SQL join,
   2000 rows a page) and a `json.dumps` of each row's dict into a file — no job, no storage, no hashing;
2. the WebDataset export job (shards of --shard-size): MB/s of shard bytes written; beside it its floor:
   a raw tar of the same bytes (the same keyset read; per member a ustar header, the image streamed from
   storage, its `json.dumps` row and its class index) into one file, no shards, storage or hashing;
   and, for reference, a raw copy of the images alone (streamed into one file, same chunk size).
Each ratio is export / floor in rows/s or MB/s (1.0: as fast as the floor; the target is >= 0.8), by
wall clock and by CPU seconds of this process (robust when other processes share the cores).

--storage s3 (bench/storage_switch.py): then, in the same process, the export jobs again on an S3 bucket (moto's
server by default; the images stored there too, the outputs stored and checksummed there as on a worker with
WINNOW_STORAGE=s3): JSONL on the large version, WebDataset on the small one (it reads every image, one GET each
on S3: tests/s3/test_request_counts.py), each printed beside its local-disk run with the ratio S3 / local of the
seconds.

Django is set up as in bench/import_bench.py: DJANGO_SETTINGS_MODULE defaults to
config.settings.local, WINNOW_VAR_DIR and WINNOW_MEDIA_ROOT point into a temporary folder, and the
temporary SQLite database there is migrated. With DATABASE_URL set, that (migrated) database is used
and the benchmark's datasets are deleted at the end unless --keep.
"""

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage_switch import on_s3, ratio_line, s3_bucket, storage_arguments

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
    storage_arguments(parser)
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


# --- the floors -------------------------------------------------------------------------------------------

FLOOR_PAGE = 2000
FLOOR_COLUMNS = (
    "m.sample_id, m.split, m.label, m.label_origin, m.labels, s.sha256, s.image_key, s.mask_key, s.original_name, "
    "s.source, s.caption, s.provenance, s.width, s.height"
)


def floor_pages(version_id: int) -> Iterator[list[tuple]]:
    """The floors' read: the version's members joined to their samples, keyset pages on sample id."""
    from django.db import connection

    sql = (
        f"SELECT {FLOOR_COLUMNS} FROM curation_versionsample m JOIN curation_sample s ON s.id = m.sample_id "  # noqa: S608
        "WHERE m.version_id = %s AND m.sample_id > %s ORDER BY m.sample_id LIMIT %s"
    )
    after = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [version_id, after, FLOOR_PAGE])
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]


def floor_row(version: Any, row: tuple) -> dict[str, Any]:
    """The manifest's keys, filled the obvious way (JSON columns decoded, then encoded again by json.dumps)."""
    sample_id, split, label, origin, labels, sha256, key, mask, _name, source, caption, provenance, w, h = row
    labels = json.loads(labels) if isinstance(labels, str) else labels
    provenance = json.loads(provenance) if isinstance(provenance, str) else provenance
    extension = key[key.rfind(".") :]
    return {
        "path": f"{split}/{label}/{sha256}{extension}" if label else f"unlabeled/{split}/{sha256}{extension}",
        "sha256": sha256, "label": label, "label_origin": origin if label else "",
        "labels": [entry["label"] for entry in labels], "label_origins": [entry["origin"] for entry in labels],
        "split": split, "dataset": version.dataset.name, "version": version.number, "version_id": version.pk,
        "sample_id": sample_id, "source": source, "caption": caption, "mask": f"masks/{sha256}.png" if mask else "",
        "width": w, "height": h, "provenance": provenance, "soft_labels": None,
    }  # fmt: skip


def jsonl_floor(version: Any) -> tuple[float, float, int]:
    """Bare keyset read + json.dumps per row into a temporary file; returns (s, CPU s, rows)."""
    rows = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as out:
        for page in floor_pages(version.pk):
            out.write(b"".join(json.dumps(floor_row(version, row)).encode() + b"\n" for row in page))
            rows += len(page)
    return time.perf_counter() - started, time.process_time() - cpu_started, rows


def ustar_header(name: str, size: int) -> bytes:
    """A POSIX ustar header for a regular file (mode 0644, owner 0, mtime 0)."""
    header = bytearray(512)
    header[: len(name)] = name.encode("ascii")
    header[100:148] = b"0000644\x000000000\x000000000\x00%011o\x0000000000000\x00" % size
    header[148:156] = b"        "
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def tar_floor(version: Any, classes: list[str]) -> tuple[float, float, int]:
    """A raw tar of the same bytes: per member its image (streamed from storage), its json.dumps row and its
    class index, each behind a ustar header, into one temporary file; returns (s, CPU s, bytes written)."""
    from django.core.files.storage import default_storage

    class_index = {name: str(index).encode() for index, name in enumerate(classes)}
    started, cpu_started = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as out:
        for page in floor_pages(version.pk):
            for row in page:
                sha256, key, label = row[5], row[6], row[2]
                with default_storage.open(key, "rb") as image:
                    data = image.read()
                members = [
                    (sha256 + key[key.rfind(".") :], data),
                    (f"{sha256}.json", json.dumps(floor_row(version, row)).encode()),
                ]
                if label:
                    members.append((f"{sha256}.cls", class_index[label]))
                out.write(
                    b"".join(
                        ustar_header(name, len(body)) + body + b"\0" * (-len(body) % 512) for name, body in members
                    )
                )
        out.write(b"\0" * 1024)
        written = out.tell()
    return time.perf_counter() - started, time.process_time() - cpu_started, written


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
            local = report(args, small, large)
            if args.storage == "s3":
                s3_report(args, small, large, local)
        finally:
            if not temporary_db and not args.keep:
                for version in (small, large):
                    datasets_delete(version)


def report(args: argparse.Namespace, small: Any, large: Any) -> dict[str, tuple[float, float]]:
    """Wall-clock rates, and rates per CPU second of this process (robust when other processes share
    the cores: the CPU figures are what the export itself costs), each beside its floor. Returns the large
    version's (seconds, bytes) of each export job, for the S3 comparison."""
    from curation.exports.selectors import version_class_names

    small_s, small_cpu, small_peak, _ = export_timed(small, "jsonl")
    large_s, large_cpu, large_peak, jsonl = export_timed(large, "jsonl")
    floor_s, floor_cpu, floor_rows = jsonl_floor(large)
    print("JSONL manifest (export job inline):")
    for n, wall, cpu, peak in ((args.small, small_s, small_cpu, small_peak), (args.n, large_s, large_cpu, large_peak)):
        print(f"  {n:>7} rows: {n / wall:8.0f} rows/s wall, {n / cpu:8.0f} rows per CPU s,  "
              f"peak RSS +{peak / 2**20:.1f} MiB")  # fmt: skip
    print(f"  floor, {floor_rows} rows (keyset read + json.dumps): {floor_rows / floor_s:8.0f} rows/s wall, "
          f"{floor_rows / floor_cpu:8.0f} rows per CPU s")  # fmt: skip
    rate = args.n / large_s
    print(f"  ratio export / floor: {floor_s / large_s:.2f} wall, {floor_cpu / large_cpu:.2f} per CPU s "
          f"(target >= 0.8)")  # fmt: skip
    print(f"  {jsonl.size / 1e6:.1f} MB manifest; {'meets' if rate >= 50_000 else 'BELOW'} the 50k rows/s target "
          f"(wall clock); peak RSS large / small = {max(large_peak, 1) / max(small_peak, 1):.2f} "
          f"for {args.n // args.small}x the rows")  # fmt: skip
    raw_copy(large)  # warms the page cache for every measurement below
    raw_s, raw_cpu, raw_bytes = raw_copy(large)
    wds_s, wds_cpu, wds_peak, shards = export_timed(large, "webdataset", shard_size=args.shard_size)
    tar_s, tar_cpu, tar_floor_bytes = tar_floor(large, version_class_names(large))
    tar_bytes = sum(item["size"] for item in shards.files if item["name"].endswith(".tar"))
    print(f"WebDataset shards ({args.shard_size} samples each, {len(shards.files) - 1} shards, "
          f"{tar_bytes / 1e6:.0f} MB; the image bytes are {raw_bytes / 1e6:.0f} MB):")  # fmt: skip
    rows = [("export job", tar_bytes, wds_s, wds_cpu, f"  peak RSS +{wds_peak / 2**20:.1f} MiB"),
            ("floor: raw tar, same bytes", tar_floor_bytes, tar_s, tar_cpu, ""),
            ("raw copy of the images", raw_bytes, raw_s, raw_cpu, "")]  # fmt: skip
    for label, size, wall, cpu, extra in rows:
        print(f"  {label:<26} {size / 1e6 / wall:7.1f} MB/s wall ({args.n / wall:6.0f} files/s), "
              f"{size / 1e6 / cpu:7.1f} MB per CPU s ({args.n / cpu:6.0f} files per CPU s){extra}")  # fmt: skip
    print(f"  ratio export / raw tar: {(tar_bytes / wds_s) / (tar_floor_bytes / tar_s):.2f} MB/s wall, "
          f"{(tar_bytes / wds_cpu) / (tar_floor_bytes / tar_cpu):.2f} MB per CPU s (target >= 0.8); "
          f"export / raw copy of the images: {(tar_bytes / wds_s) / (raw_bytes / raw_s):.2f} MB/s wall")  # fmt: skip
    return {"jsonl": (large_s, jsonl.size), "webdataset": (wds_s, tar_bytes)}


def s3_report(args: argparse.Namespace, small: Any, large: Any, local: dict[str, tuple[float, float]]) -> None:
    """The export jobs again with the default storage on an S3 bucket: images read from it, outputs stored in it
    (multipart, checksummed); each beside its local run, S3 / local. JSONL on the large version; WebDataset (two
    requests per image on S3: a HEAD, then a GET) on the small one, measured on local disk here too."""
    local_wds_s, _cpu, _peak, _shards = export_timed(small, "webdataset", shard_size=args.shard_size)
    with s3_bucket(args.s3_endpoint) as bucket, on_s3(bucket, args.s3_endpoint):
        started = time.perf_counter()
        blobs_store(args.blobs, args.side)  # the same keys (content hashes), now in the bucket
        stored_s, load = time.perf_counter() - started, os.getloadavg()
        print(f"S3 ({args.s3_endpoint}): {args.blobs} images stored in {stored_s:.1f} s; export jobs on S3 storage "
              f"vs local disk (same process, load {load}):", flush=True)  # fmt: skip
        jsonl_s, _cpu, _peak, _jsonl = export_timed(large, "jsonl")
        print(ratio_line(f"JSONL manifest, {args.n} rows", local["jsonl"][0], jsonl_s, amount=args.n, unit="rows"))
        wds_s, _cpu, wds_peak, shards = export_timed(small, "webdataset", shard_size=args.shard_size)
    tar_mb = sum(item["size"] for item in shards.files if item["name"].endswith(".tar")) / 1e6
    print(ratio_line(f"WebDataset, {args.small} samples", local_wds_s, wds_s, amount=tar_mb, unit="MB"))
    print(f"  WebDataset on S3: peak RSS +{wds_peak / 2**20:.1f} MiB; load {os.getloadavg()}", flush=True)


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
