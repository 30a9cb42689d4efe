"""The storage-bound steps of embedding, pruning and exporting, on object storage (S3) against local disk.

    python bench/storage_bench.py [--rows 100000] [--dim 512] [--export-mb 128] [--rounds 2]
                                  [--endpoint http://127.0.0.1:5055]

embed_bench.py and prune_bench.py measure the models and the algorithms, which never touch storage; this
measures what storage adds around them, with the production code paths (core.storage, the embedding files
module, the export outputs), once with files under a temporary MEDIA_ROOT and once on a bucket of an
S3-protocol server (make services starts moto's on 127.0.0.1:5055; any S3 endpoint with
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY works). Each backend runs in its own process (settings are read at
start-up), the best of --rounds rounds counts, and the ratio S3 / local of the seconds is printed per step:

1. embed publish: a finished embedding set (ROWS x DIM float16 `.npy` and its int64 row ids) is checksummed
   and published from its workspace, as the finalize step does (local: a rename; S3: a multipart upload);
2. prune load, cold: a worker that never saw the set opens it as the prune job does (`storage_local_path`
   with the recorded checksum, then a memory map) and reads every row (S3: download, verified, cached);
3. prune load, warm: the same on the same worker again (S3: served from the local cache, no request);
4. export store: an export output of --export-mb MB is stored from its spool file (`stored_save`);
5. export download: it is streamed back whole through the storage API, as the download view does;
6. export range: 1 MiB read at an offset in its middle (an HTTP Range request), median of 20.

moto keeps objects in memory and answers from one Python process: against a real object store the S3
column would differ (faster server, real network). The ratio says what the storage API costs here.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import EndpointConnectionError

REPO_ROOT = Path(__file__).resolve().parent.parent
STEPS = ("embed publish", "prune load, cold", "prune load, warm", "export store", "export download", "export range")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="embedding rows (default 100000)")
    parser.add_argument("--dim", type=int, default=512, help="embedding width (default 512)")
    parser.add_argument("--export-mb", type=int, default=128, help="size of the export output in MB (default 128)")
    parser.add_argument("--rounds", type=int, default=2, help="measurement rounds; the best counts (default 2)")
    parser.add_argument("--endpoint", default=os.environ.get("WINNOW_S3_ENDPOINT_URL", "http://127.0.0.1:5055"))
    parser.add_argument("--backend", choices=("local", "s3"), help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.backend:
        print(json.dumps(measure(args)))
        return
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "winnow-bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "winnow-bench-secret")
    client = s3_client(args.endpoint)
    try:
        client.list_buckets()
    except EndpointConnectionError as exc:
        sys.exit(f"no S3 server at {args.endpoint} ({exc}): run `make services` (it starts moto's)")
    bucket = f"winnow-bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    try:
        results = {backend: run_child(args, backend, bucket) for backend in ("local", "s3")}
    finally:
        bucket_delete(client, bucket)
    report(args, results)


def run_child(args: argparse.Namespace, backend: str, bucket: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--backend", backend, "--bucket", bucket, "--rows", str(args.rows)]
    command += ["--dim", str(args.dim), "--export-mb", str(args.export_mb), "--rounds", str(args.rounds)]
    command += ["--endpoint", args.endpoint]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(args: argparse.Namespace, results: dict[str, dict[str, float]]) -> None:
    embed_mb = args.rows * (args.dim * 2 + 8) / 1e6
    sizes = {"embed publish": embed_mb, "prune load, cold": embed_mb, "prune load, warm": embed_mb}
    sizes |= {"export store": args.export_mb, "export download": args.export_mb, "export range": 1.048576}
    print(f"embedding set {args.rows} x {args.dim} float16 ({embed_mb:.0f} MB), export output {args.export_mb} MB")
    print(f"S3: {args.endpoint}; best of {args.rounds} rounds; ratio = S3 seconds / local seconds")
    print(f"{'step':<20} {'local s':>9} {'MB/s':>8} {'S3 s':>9} {'MB/s':>8} {'ratio':>7}")
    for step in STEPS:
        local, s3 = results["local"][step], results["s3"][step]
        print(
            f"{step:<20} {local:>9.4f} {sizes[step] / local:>8.0f} {s3:>9.4f} {sizes[step] / s3:>8.0f} "
            f"{s3 / local:>7.2f}"
        )
    floor = results["s3"]
    print(
        f"S3 protocol floor (bare boto3 upload_file / download_fileobj of {args.export_mb} MB, same server and "
        f"transfer settings): up {args.export_mb / floor['floor upload']:.0f} MB/s, "
        f"down {args.export_mb / floor['floor download']:.0f} MB/s"
    )


def measure(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="winnow-storage-bench-") as temp:
        django_setup(Path(temp), args)
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for step, seconds in one_round(args).items():
                best[step] = min(seconds, best.get(step, float("inf")))
        return best


def django_setup(var_dir: Path, args: argparse.Namespace) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    os.environ["WINNOW_MEDIA_ROOT"] = str(var_dir / "media")
    os.environ["WINNOW_STORAGE"] = args.backend
    if args.backend == "s3":
        os.environ |= {"WINNOW_S3_BUCKET": args.bucket, "WINNOW_S3_ENDPOINT_URL": args.endpoint}
        os.environ["WINNOW_S3_PREFIX"] = f"round-{uuid.uuid4().hex[:8]}"
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()


def one_round(args: argparse.Namespace) -> dict[str, float]:
    import numpy as np
    from django.conf import settings

    from core.storage import blob_delete, storage_local_path
    from curation.embeddings.files import file_sha256, storage_delete_prefix, storage_publish, storage_workspace
    from curation.exports.services.outputs import COPY_CHUNK_BYTES, _named_spool, stored_save

    prefix = f"embeddings/sets/bench-{uuid.uuid4().hex[:8]}"
    rng = np.random.default_rng(0)
    timings: dict[str, float] = {}
    with storage_workspace(prefix) as folder:
        np.save(folder / "embeddings.npy", rng.standard_normal((args.rows, args.dim), dtype=np.float32).astype("f2"))
        np.save(folder / "row_ids.npy", np.arange(args.rows, dtype=np.int64))
        started = time.perf_counter()
        checksums = {name: file_sha256(folder / name) for name in ("embeddings.npy", "row_ids.npy")}
        for name, digest in checksums.items():
            storage_publish(folder / name, f"{prefix}/{name}", sha256=digest)
        timings["embed publish"] = time.perf_counter() - started

    def load() -> float:
        embeddings = np.load(storage_local_path(f"{prefix}/embeddings.npy", sha256=checksums["embeddings.npy"]), "r")
        row_ids = np.load(storage_local_path(f"{prefix}/row_ids.npy", sha256=checksums["row_ids.npy"]))
        return float(np.asarray(embeddings[:, 0], dtype=np.float32).sum() + row_ids.sum())

    cache = Path(settings.STORAGE_CACHE_DIR)
    for entry in cache.glob("*") if cache.exists() else []:
        entry.unlink()  # a worker that never saw the set
    forget_verified()
    timings["prune load, cold"] = timed(load)
    timings["prune load, warm"] = timed(load)
    storage_delete_prefix(prefix)

    key = f"exports/bench-{uuid.uuid4().hex[:8]}/shard-000000.tar"
    size = args.export_mb * 1_000_000
    with _named_spool() as spool:  # the spool an export output is written to
        block = rng.integers(0, 256, COPY_CHUNK_BYTES, dtype=np.uint8).tobytes()
        for offset in range(0, size, len(block)):
            spool.write(block[: size - offset])
        timings["export store"] = timed(lambda: stored_save(key, spool, name="shard-000000.tar"))
    timings["export download"] = timed(lambda: stream_whole(key, COPY_CHUNK_BYTES))
    timings["export range"] = statistics.median(timed(lambda: read_range(key, size // 2, 1 << 20)) for _ in range(20))
    if args.backend == "s3":
        timings |= protocol_floor(args, key, spool_bytes=block, size=size)
    blob_delete(key)
    return timings


def protocol_floor(args: argparse.Namespace, key: str, *, spool_bytes: bytes, size: int) -> dict[str, float]:
    """Bare boto3 against the same server, same transfer settings: an upload and a download of the export's size."""
    import io

    from django.core.files.storage import default_storage

    client, bucket = default_storage.connection.meta.client, args.bucket
    stored_key = default_storage._normalize_name(key)
    with tempfile.NamedTemporaryFile() as source:
        for offset in range(0, size, len(spool_bytes)):
            source.write(spool_bytes[: size - offset])
        source.flush()
        upload = timed(
            lambda: client.upload_file(
                source.name, bucket, stored_key + ".floor", Config=default_storage.transfer_config
            )
        )
    client.delete_object(Bucket=bucket, Key=stored_key + ".floor")

    class Discard(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:  # type: ignore[no-untyped-def]
            return len(data)

    download = timed(
        lambda: client.download_fileobj(bucket, stored_key, Discard(), Config=default_storage.transfer_config)
    )
    return {"floor upload": upload, "floor download": download}


def stream_whole(key: str, chunk: int) -> None:
    from django.core.files.storage import default_storage

    with default_storage.open(key, "rb") as handle:
        while handle.read(chunk):
            pass


def read_range(key: str, start: int, length: int) -> None:
    from django.core.files.storage import default_storage

    with default_storage.open(key, "rb") as handle:
        handle.seek(start)
        assert len(handle.read(length)) == length


def forget_verified() -> None:
    from core import local_cache

    local_cache._verified.clear()  # a fresh worker process has checked nothing yet


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("WINNOW_S3_REGION", "us-east-1"))


def bucket_delete(client, bucket: str) -> None:  # type: ignore[no-untyped-def]
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=entry["Key"])
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    main()
