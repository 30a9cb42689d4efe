"""Embed images with an encoder: decode workers feed a DataLoader, the model runs in the calling process.

Decoding (PIL, EXIF orientation, RGB) and the encoder's own preprocessing run in DataLoader workers;
the forward pass runs under inference_mode with the encoder's autocast (bf16/fp16 on CUDA) from pinned
memory on CUDA, and with torch threads set to the cores on CPU. Unreadable images are skipped and
reported, never fatal. Results are float16, L2-normalised, in input order.

When the preprocessing ends with ToTensor + Normalize (open_clip's and torchvision's do), workers stop
before those two and ship uint8 images; the batch is scaled and normalised where the model runs, the
same arithmetic on a quarter of the bytes (and, on CUDA, on the GPU instead of the decode cores).
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from curation.ml.encoders import Encoder, EncoderSpec

logger = logging.getLogger(__name__)

# bytes, a path, or a zero-argument opener returning bytes or a binary file (e.g. storage.open(key)).
ImageSource = bytes | str | os.PathLike[str] | Callable[[], bytes | BinaryIO]
CPU_BATCH_SIZE = 32
CUDA_BATCH_SIZE = 256


class EmbeddedImages(NamedTuple):
    ids: np.ndarray  # ids of the images that were embedded, in input order
    embeddings: np.ndarray  # float16 (len(ids), dim), unit rows
    failures: list[tuple[Any, str]]  # (id, reason) of images that could not be read


class _Batch(NamedTuple):
    positions: torch.Tensor  # int64 positions in the input of the decoded images
    images: torch.Tensor | None
    failures: list[tuple[int, str]]  # (position, reason)

    def pin_memory(self) -> _Batch:  # the DataLoader's pin-memory thread calls this
        return self._replace(images=None if self.images is None else self.images.pin_memory())


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_batch_size(device: torch.device) -> int:
    return CUDA_BATCH_SIZE if device.type == "cuda" else CPU_BATCH_SIZE


def default_num_workers(device: torch.device) -> int:
    """CPU: leave most cores to the forward pass; CUDA: decode is the bottleneck, use the cores."""
    cores = available_cores()
    return max(1, cores - 1) if device.type == "cuda" else max(1, cores // 4)


def draft_size(spec: EncoderSpec) -> int:
    """Smallest short side the preprocessing reads from before cropping (JPEG draft decodes down to it)."""
    return round(min(spec.input_size) / spec.crop_pct)


def decode_image(source: ImageSource, *, draft: int | None = None) -> Image.Image:
    """Open ``source`` as an upright RGB image. ``draft``: let JPEG decode at a reduced scale whose short side
    stays >= draft pixels (DCT scaling, several times faster on large photos)."""
    opened = source() if callable(source) else source
    if isinstance(opened, bytes | bytearray | memoryview):
        stream: BinaryIO = io.BytesIO(opened)
    elif isinstance(opened, str | os.PathLike):
        stream = Path(opened).open("rb")  # noqa: SIM115  (closed by the with below)
    else:
        stream = opened
    with stream:
        image = Image.open(stream)
        if draft is not None and image.format == "JPEG":
            image.draft("RGB", (draft, draft))
        image.load()  # all pixels read before the stream closes
    ImageOps.exif_transpose(image, in_place=True)
    return image if image.mode == "RGB" else image.convert("RGB")


class _ToUint8:
    """The PIL steps of a preprocessing pipeline, then the pixels as a uint8 (3, h, w) tensor."""

    def __init__(self, pil_steps: Callable[[Image.Image], Image.Image]) -> None:
        self.pil_steps = pil_steps

    def __call__(self, image: Image.Image) -> torch.Tensor:
        image = self.pil_steps(image)
        pixels = np.array(image if image.mode == "RGB" else image.convert("RGB"))  # writable, as torch wants
        return torch.from_numpy(pixels).permute(2, 0, 1)


class BatchNormalize:
    """ToTensor + Normalize applied to a uint8 batch (n, 3, h, w): x / 255, minus mean, over std."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.mean.device != batch.device:
            self.mean, self.std = self.mean.to(batch.device), self.std.to(batch.device)
        return batch.float().div_(255).sub_(self.mean).div_(self.std)


def split_preprocess(
    preprocess: Callable[[Image.Image], torch.Tensor],
) -> tuple[Callable[[Image.Image], torch.Tensor], BatchNormalize | None]:
    """(per-image stage for the workers, batch stage or None): splits off a trailing ToTensor + Normalize."""
    steps = list(getattr(preprocess, "transforms", []))
    to_tensor = len(steps) >= 2 and type(steps[-2]).__name__ in {"ToTensor", "MaybeToTensor"}  # Maybe: open_clip's
    if to_tensor and isinstance(steps[-1], transforms.Normalize):
        return _ToUint8(transforms.Compose(steps[:-2])), BatchNormalize(steps[-1].mean, steps[-1].std)
    return preprocess, None


class _DecodedImages(Dataset[tuple[int, torch.Tensor | None, str | None]]):
    def __init__(
        self, sources: Sequence[ImageSource], preprocess: Callable[[Image.Image], torch.Tensor], draft: int | None
    ) -> None:
        self.sources = sources
        self.preprocess = preprocess
        self.draft = draft

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, position: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            return position, self.preprocess(decode_image(self.sources[position], draft=self.draft)), None
        except Exception as error:  # any unreadable image is reported, not fatal
            return position, None, f"{type(error).__name__}: {error}"


def _collate(samples: list[tuple[int, torch.Tensor | None, str | None]]) -> _Batch:
    decoded = [(position, image) for position, image, _ in samples if image is not None]
    failures = [(position, reason or "") for position, image, reason in samples if image is None]
    return _Batch(
        positions=torch.tensor([position for position, _ in decoded], dtype=torch.int64),
        images=torch.stack([image for _, image in decoded]) if decoded else None,
        failures=failures,
    )


def embed_images(
    encoder: Encoder,
    items: Iterable[tuple[Any, ImageSource]],
    *,
    batch_size: int | None = None,
    num_workers: int | None = None,
    device: str | torch.device | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    jpeg_draft: bool = True,
) -> EmbeddedImages:
    """Embed ``items`` = (id, image source) pairs; returns ids, float16 unit embeddings and failures.

    batch_size: default 32 on CPU, 256 on CUDA. num_workers: decode processes (default: a quarter of the
    cores on CPU, at least 1; all but one on CUDA; 0 decodes in this process, as does a daemonic process
    such as a prefork Celery child). device: moves the encoder there first (default: where it is).
    on_batch(done, total): called after each batch with the count of items handled; raise from it to
    cancel. jpeg_draft: decode JPEGs at the smallest DCT scale the preprocessing needs.
    """
    if device is not None and torch.device(device) != encoder.device:
        encoder.to(device)
    pairs = list(items)
    input_ids = [item_id for item_id, _ in pairs]
    sources = [source for _, source in pairs]
    embeddings = np.zeros((len(sources), encoder.spec.dim), dtype=np.float16)
    embedded = np.zeros(len(sources), dtype=bool)
    failures: list[tuple[Any, str]] = []
    per_image, per_batch = split_preprocess(encoder.preprocess)
    loader = _loader(encoder, sources, per_image, batch_size, num_workers, jpeg_draft)
    with _cpu_threads(encoder.device):
        done = 0
        for batch in loader:
            if batch.images is not None:
                images = batch.images.to(encoder.device, non_blocking=True)
                vectors = encoder.encode_images(images if per_batch is None else per_batch(images))
                embeddings[batch.positions.numpy()] = vectors.to(torch.float16).cpu().numpy()
                embedded[batch.positions.numpy()] = True
            failures.extend((input_ids[position], reason) for position, reason in batch.failures)
            done += len(batch.positions) + len(batch.failures)
            if on_batch is not None:
                on_batch(done, len(sources))
    return EmbeddedImages(ids=_id_array(input_ids)[embedded], embeddings=embeddings[embedded], failures=failures)


def embed_arrays(encoder: Encoder, images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """(M, dim) float32 embeddings of in-memory RGB uint8 images (e.g. composites), in this process; a row the
    encoder could not take stays zero."""
    sources: list[tuple[int, ImageSource]] = []
    for position, pixels in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, "PNG", compress_level=1)
        sources.append((position, buffer.getvalue()))
    done = embed_images(encoder, sources, num_workers=0)
    vectors = np.zeros((len(sources), encoder.spec.dim), np.float32)
    vectors[done.ids] = done.embeddings
    return vectors


def _id_array(ids: list[Any]) -> np.ndarray:
    """int64 for integer ids (sample primary keys), object otherwise."""
    if all(isinstance(item_id, int | np.integer) for item_id in ids):
        return np.asarray(ids, dtype=np.int64)
    array = np.empty(len(ids), dtype=object)
    array[:] = ids
    return array


def _loader(
    encoder: Encoder,
    sources: list[ImageSource],
    preprocess: Callable[[Image.Image], torch.Tensor],
    batch_size: int | None,
    num_workers: int | None,
    jpeg_draft: bool,
) -> DataLoader[Any]:
    device = encoder.device
    workers = default_num_workers(device) if num_workers is None else num_workers
    if workers and multiprocessing.current_process().daemon:
        logger.warning("daemonic process (e.g. a prefork Celery child) cannot start decode workers: decoding inline")
        workers = 0
    dataset = _DecodedImages(sources, preprocess, draft_size(encoder.spec) if jpeg_draft else None)
    return DataLoader(
        dataset,
        batch_size=batch_size or default_batch_size(device),
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
    )


@contextmanager
def _cpu_threads(device: torch.device) -> Iterator[None]:
    """On CPU, run torch on every available core for the duration, then restore the setting."""
    previous = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(available_cores())
    try:
        yield
    finally:
        torch.set_num_threads(previous)
