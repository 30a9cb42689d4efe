"""Training loop throughput against a bare PyTorch loop on the same tensors (issue 7 §8: ratio >= 0.85).

    python bench/train_bench.py [--arch small-cnn] [--n 1024] [--img-size 64] [--batch-size 64] [--epochs 2]
                                [--device cpu] [--precision auto] [--augmentation none] [--rounds 2]

Builds N random uint8 images (N, 3, S, S) with labels in 7 classes once, in memory, then in this process,
for each of --rounds rounds (the best round of each counts, which filters out noise from neighbours on a
shared machine), from the same seed and initial weights:
1. bare: shuffle, slice a batch, uint8 -> float / 255, forward under the same autocast, cross-entropy,
   backward, optimizer and scheduler step (AdamW, cosine): the least a training loop does;
2. pipeline: ``robustness.ml.training.train_classifier`` with its per-batch progress callback, NaN
   checks, GradScaler (fp16), channels-last on CUDA, and after every epoch a resumable checkpoint
   built and written to disk as the training job does (its upload to storage is not included).
   Its validation pass is given no images, so both loops do the same arithmetic.
Prints images/s of both (training images over the wall time of all epochs) and their ratio, and the
ratio of CPU seconds: on a shared machine wall times swing with the neighbours' load, CPU time much
less, so on CPU the CPU-time ratio says what the wall ratio would be on idle cores.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from robustness.ml.checkpoints import checkpoint_build, checkpoint_write  # noqa: E402
from robustness.ml.devices import autocast, device_resolve, precision_resolve, seed_everything  # noqa: E402
from robustness.ml.models import Classifier, create_model  # noqa: E402
from robustness.ml.training import EpochEnd, LabelledImages, TrainingConfig, train_classifier  # noqa: E402

CLASSES = 7


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="small-cnn")
    parser.add_argument("--n", type=int, default=1024, help="training images (default 1024)")
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16, fp16 (mixed precision on CUDA only)")
    parser.add_argument("--augmentation", default="none", help="preset for the pipeline (default none, like bare)")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds; the best counts (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    return parser.parse_args()


def synthetic_images(count: int, size: int) -> LabelledImages:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(count) % CLASSES
    images = torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=generator)
    return LabelledImages(images, labels)


def fresh_model(arch: str) -> Classifier:
    seed_everything(0)
    return create_model(arch, CLASSES)


def bare_loop(
    arch: str, data: LabelledImages, config: TrainingConfig, device: torch.device, precision: str
) -> tuple[float, float]:
    """(wall, CPU) seconds for config.epochs epochs of the minimal loop."""
    model = fresh_model(arch).to(device).train()
    images, labels = data.images.to(device), data.labels.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(labels) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    synchronize(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(config.epochs):
        order = torch.randperm(len(labels), generator=generator).to(device)
        for start in range(0, len(labels), config.batch_size):
            rows = order[start : start + config.batch_size]
            with autocast(device, precision):
                loss = criterion(model(images[rows].float() / 255).float(), labels[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    synchronize(device)
    return time.perf_counter() - started, time.process_time() - cpu_started


def pipeline_loop(
    arch: str, data: LabelledImages, config: TrainingConfig, device: torch.device, folder: Path
) -> tuple[float, float]:
    model = fresh_model(arch)
    empty = LabelledImages(data.images[:0], data.labels[:0])
    calls = []

    def store(end: EpochEnd) -> None:
        checkpoint = checkpoint_build(
            model=model, arch=arch, classes=[str(i) for i in range(CLASSES)], img_size=data.images.shape[-1],
            epoch=int(end.metrics["epoch"]), training_state=end.training_state,
        )  # fmt: skip
        checkpoint_write(checkpoint, folder / "last.pt")

    synchronize(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    train_classifier(
        model, data, empty, config, device=device, generator=seed_everything(0), on_epoch_end=store,
        on_batch=lambda done, total, message: calls.append(done),
    )  # fmt: skip
    synchronize(device)
    return time.perf_counter() - started, time.process_time() - cpu_started


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = device_resolve(args.device)
    config = TrainingConfig(
        epochs=args.epochs, batch_size=args.batch_size, augmentation=args.augmentation, precision=args.precision
    )
    precision = precision_resolve(args.precision, device)
    data = synthetic_images(args.n, args.img_size)
    images = args.n * args.epochs
    print(
        f"{args.arch}, {args.n} images of {args.img_size} px, batch {args.batch_size}, {args.epochs} epochs, "
        f"{device} ({precision}), {torch.get_num_threads()} CPU threads, augmentation {args.augmentation}"
    )
    bare_best = pipeline_best = (float("inf"), float("inf"))
    with tempfile.TemporaryDirectory() as folder:
        bare_loop(args.arch, LabelledImages(data.images[:256], data.labels[:256]), config, device, precision)  # warm-up
        for round_index in range(args.rounds):
            bare = bare_loop(args.arch, data, config, device, precision)
            pipeline = pipeline_loop(args.arch, data, config, device, Path(folder))
            bare_best = (min(bare_best[0], bare[0]), min(bare_best[1], bare[1]))
            pipeline_best = (min(pipeline_best[0], pipeline[0]), min(pipeline_best[1], pipeline[1]))
            print(
                f"round {round_index + 1}: bare {images / bare[0]:.1f} img/s, pipeline {images / pipeline[0]:.1f} img/s"
            )
    ratio, cpu_ratio = bare_best[0] / pipeline_best[0], bare_best[1] / pipeline_best[1]
    for name, (wall, cpu) in (("bare loop:    ", bare_best), ("training loop:", pipeline_best)):
        print(f"{name}  {images / wall:10.1f} images/s  ({cpu / images * 1000:.2f} CPU ms/image)")
    print(f"ratio (wall):   {ratio:10.3f}  (target >= 0.85: {'met' if ratio >= 0.85 else 'NOT met'})")
    print(f"ratio (CPU):    {cpu_ratio:10.3f}")


if __name__ == "__main__":
    main()
