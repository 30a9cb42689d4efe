"""Embedding pipeline throughput against the bare model forward (docs/ARCHITECTURE.md §11: ratio >= 0.85).

    python bench/embed_bench.py [--encoder open_clip:ViT-B-32:random-init] [--n 256] [--batch-size B] [--device cpu]
                                [--num-workers W] [--side 640] [--rounds 2]

Writes N JPEGs (random crops of scikit-image's photos, --side wide, 3:4) into a temporary folder, then,
in this process, for each of --rounds rounds (the best round of each counts, which filters out noise
from other processes on a shared machine):
1. bare: the encoder's forward (``encode_images``, same autocast, same batch size, same threads) over
   the same images already decoded and preprocessed into one tensor in memory;
2. pipeline: ``embed_images`` over the file paths (DataLoader decode workers, EXIF/RGB, preprocessing,
   forward, float16) plus writing the rows into an ``EmbeddingWriter`` memmap.
It prints images/s of both and their ratio, and the CPU seconds per image each spent (this process
and its reaped decode workers): on a shared machine wall times swing with the neighbours' load, CPU
time much less, so the CPU ratio says what the wall ratio would be on idle cores when CPU-bound.

--storage s3 (bench/storage_switch.py) adds, in the same rounds, the pipeline as an embedding job runs it around
the model on each storage: the JPEGs read through the storage API (``blob_read``, as a chunk does), the rows
stored as the chunk's ``.npz``, then read back into the set's ``.npy`` and row ids, checksummed and published
(the finalize step's storage work; the FAISS index is left out): once on local disk, once on an S3 bucket
(moto's server by default) with an empty local cache; it prints both rates and the ratio S3 / local.

--encoder takes any registry name. ``open_clip:<arch>:random-init`` (bench only) builds the arch with
random weights offline, to measure speed where the real weights are not cached; it is labelled loudly.
The default is the random-init ViT-B-32 (issue 4 §7: speed does not depend on the weights, and the
production default's weights may not be cached); ``--encoder efficientnet-lite0`` measures the packaged
ImageNet model.
"""

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from storage_switch import cache_empty, on_s3, ratio_line, s3_bucket, storage_arguments  # noqa: E402

from curation.ml.embedding import available_cores, decode_image, default_batch_size, embed_images  # noqa: E402
from curation.ml.embedding_store import EmbeddingWriter  # noqa: E402
from curation.ml.encoders import Encoder, EncoderSpec, create_encoder  # noqa: E402

RANDOM_INIT = "random-init"
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--encoder",
        default=f"open_clip:ViT-B-32:{RANDOM_INIT}",
        help="registry name (default: ViT-B-32 with random weights, speed only)",
    )
    parser.add_argument("--n", type=int, default=256, help="number of JPEGs (default 256)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the pipeline's for the device")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--num-workers", type=int, default=None, help="decode workers (default: the pipeline's)")
    parser.add_argument("--side", type=int, default=640, help="JPEG width; height is 3/4 of it (default 640)")
    parser.add_argument("--rounds", type=int, default=2, help="measurement rounds; the best counts (default 2)")
    storage_arguments(parser)
    return parser.parse_args()


def build_encoder(name: str, device: str) -> Encoder:
    family, _, argument = name.partition(":")
    arch, _, source = argument.partition(":")
    if family != "open_clip" or source != RANDOM_INIT:
        return create_encoder(name, device=device)
    import open_clip
    from open_clip.transform import PreprocessCfg, image_transform_v2

    from curation.ml.encoders.openclip import OpenClipEncoder

    print("!" * 78)
    print(f"!!! RANDOM WEIGHTS: SPEED ONLY. {arch} is random-init; its embeddings mean nothing. !!!")
    print("!" * 78)
    model = open_clip.create_model(arch, pretrained=None)
    cfg = PreprocessCfg(**open_clip.get_model_preprocess_cfg(model))
    spec = EncoderSpec(
        name=name,
        family="open_clip",
        arch=arch,
        weights=RANDOM_INIT,
        dim=model.visual.output_dim,
        mean=tuple(cfg.mean),
        std=tuple(cfg.std),
        input_size=tuple(cfg.input_size[1:]),
        has_text_tower=True,
    )
    return OpenClipEncoder(spec, model, image_transform_v2(cfg, is_train=False), device=torch.device(device))


def write_jpegs(folder: Path, count: int, side: int) -> list[Path]:
    import skimage.data

    rng = np.random.default_rng(0)
    photos = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in PHOTOS]
    paths = []
    for index in range(count):
        photo = photos[index % len(photos)]
        width, height = photo.size
        crop_w, crop_h = int(width * rng.uniform(0.6, 1.0)), int(height * rng.uniform(0.6, 1.0))
        left, top = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
        image = photo.crop((left, top, left + crop_w, top + crop_h)).resize((side, side * 3 // 4), Image.BICUBIC)
        paths.append(folder / f"{index:06d}.jpg")
        image.save(paths[-1], "JPEG", quality=90)
    return paths


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have exited (the DataLoader's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``work``."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started, cpu_started = time.perf_counter(), cpu_seconds()
    work()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started, cpu_seconds() - cpu_started


def bare_forward(encoder: Encoder, images: torch.Tensor, batch_size: int) -> None:
    for start in range(0, len(images), batch_size):
        encoder.encode_images(images[start : start + batch_size]).to(torch.float16).cpu()


def pipeline(encoder: Encoder, paths: list[Path], batch_size: int, workers: int | None, folder: Path) -> None:
    result = embed_images(encoder, list(enumerate(paths)), batch_size=batch_size, num_workers=workers)
    writer = EmbeddingWriter.create(folder, num_rows=len(paths), dim=encoder.spec.dim, spec=encoder.spec)
    writer.write_chunk(0, len(paths), result.ids, result.embeddings)
    assert not result.failures, result.failures


def django_setup(var_dir: Path) -> None:
    """Django on a temporary var dir (files only: the storage steps use no database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    os.environ["WINNOW_MEDIA_ROOT"] = str(var_dir / "media")
    import django

    django.setup()


def blobs_store(paths: list[Path]) -> list[str]:
    """The JPEGs stored in the default storage as imports store images; their keys."""
    from core.storage import blob_key, blob_save, sha256_bytes

    keys = []
    for path in paths:
        data = path.read_bytes()
        keys.append(blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg"))
        blob_save(key=keys[-1], data=data)
    return keys


def storage_pipeline(encoder: Encoder, keys: list[str], batch_size: int, workers: int | None, prefix: str) -> None:
    """An embedding job's work around the model on the default storage: images read through the storage API, the
    chunk's rows stored as its .npz, read back into the set's .npy and row ids, checksummed and published."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from core.storage import blob_read
    from curation.embeddings.files import file_sha256, storage_publish, storage_workspace
    from curation.embeddings.services.chunks import chunk_blob_read
    from curation.ml.embedding_store import EMBEDDINGS_FILE, ROW_IDS_FILE

    items = [(index, partial(blob_read, key)) for index, key in enumerate(keys)]
    result = embed_images(encoder, items, batch_size=batch_size, num_workers=workers)
    assert not result.failures, result.failures
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.asarray(result.ids, dtype=np.int64), embeddings=result.embeddings.astype(np.float16))
    chunk_key = default_storage.save(f"{prefix}/parts/chunk-000000.npz", ContentFile(buffer.getvalue()))
    ids, vectors = chunk_blob_read(chunk_key)
    with storage_workspace(prefix) as folder:
        writer = EmbeddingWriter.create(folder, num_rows=len(ids), dim=encoder.spec.dim)
        writer.write_chunk(0, len(ids), ids, vectors)
        del writer
        for name in (EMBEDDINGS_FILE, ROW_IDS_FILE):
            storage_publish(folder / name, f"{prefix}/{name}", sha256=file_sha256(folder / name))


def storage_rounds(
    args: argparse.Namespace, encoder: Encoder, paths: list[Path], batch_size: int, root: Path
) -> dict[str, list[tuple[float, float]]]:
    """--storage s3: the storage pipeline on local disk and on an S3 bucket, --rounds times each, alternating."""
    django_setup(root / "var")
    runs: dict[str, list[tuple[float, float]]] = {"local": [], "s3": []}
    with s3_bucket(args.s3_endpoint) as bucket:
        keys = blobs_store(paths)
        with on_s3(bucket, args.s3_endpoint):
            blobs_store(paths)
        for round_no in range(args.rounds):
            prefix = f"embeddings/sets/bench-{round_no}"
            run = partial(storage_pipeline, encoder, keys, batch_size, args.num_workers, prefix)
            runs["local"].append(timed(run))
            with on_s3(bucket, args.s3_endpoint):
                cache_empty()
                runs["s3"].append(timed(run))
    return runs


def main() -> None:
    args = parse_args()
    encoder = build_encoder(args.encoder, args.device)
    batch_size = args.batch_size or default_batch_size(encoder.device)
    with tempfile.TemporaryDirectory(prefix="embed-bench-") as temporary:
        root = Path(temporary)
        paths = write_jpegs(root, args.n, args.side)
        decoded = torch.stack([encoder.preprocess(decode_image(path)) for path in paths])
        if encoder.device.type == "cuda":
            decoded = decoded.pin_memory()
        torch.set_num_threads(available_cores())  # what the pipeline sets on CPU
        bare_forward(encoder, decoded[:batch_size], batch_size)  # warm-up
        bare, piped = [], []
        for round_no in range(args.rounds):
            bare.append(timed(lambda: bare_forward(encoder, decoded, batch_size)))
            out = root / f"round{round_no}"
            piped.append(timed(lambda out=out: pipeline(encoder, paths, batch_size, args.num_workers, out)))
        stored = storage_rounds(args, encoder, paths, batch_size, root) if args.storage == "s3" else None
    bare_s, pipeline_s = [wall for wall, _ in bare], [wall for wall, _ in piped]
    bare_rate, pipeline_rate = args.n / min(bare_s), args.n / min(pipeline_s)
    bare_cpu, pipeline_cpu = (min(cpu for _, cpu in runs) * 1000 / args.n for runs in (bare, piped))
    label = " [RANDOM WEIGHTS: SPEED ONLY]" if encoder.spec.weights == RANDOM_INIT else ""
    print(f"encoder        {encoder.spec.name}{label} (dim {encoder.spec.dim}, input {encoder.spec.input_size})")
    print(f"device         {encoder.device} ({torch.get_num_threads()} threads, autocast {encoder.autocast_dtype})")
    print(f"images         {args.n} JPEGs {args.side}x{args.side * 3 // 4}, batch {batch_size}, rounds {args.rounds}")
    print(f"bare forward   {bare_rate:8.1f} images/s  (pre-decoded tensors; rounds {_seconds(bare_s)})")
    stages = "decode+preprocess+DataLoader+forward+write"
    print(f"pipeline       {pipeline_rate:8.1f} images/s  ({stages}; rounds {_seconds(pipeline_s)})")
    print(f"ratio          {pipeline_rate / bare_rate:8.2f}  (target >= 0.85)")
    print(f"CPU per image  bare {bare_cpu:.1f} ms, pipeline {pipeline_cpu:.1f} ms: ratio {bare_cpu / pipeline_cpu:.2f}")
    if stored is not None:
        local_s, s3_s = (min(wall for wall, _ in stored[name]) for name in ("local", "s3"))
        print(f"storage        the pipeline through the storage API (images read, chunk .npz, set .npy published), "
              f"best of {args.rounds}; S3: {args.s3_endpoint}, empty local cache")  # fmt: skip
        print(ratio_line("embed job's pipeline", local_s, s3_s, amount=args.n, unit="images"))
        print(f"  vs bare forward: local {args.n / local_s / bare_rate:.2f}, S3 {args.n / s3_s / bare_rate:.2f}")


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{value:.2f} s" for value in values)


if __name__ == "__main__":
    main()
