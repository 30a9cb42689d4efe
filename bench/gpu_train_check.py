"""CUDA check of the training loop (issue 7 §9), Django-free so it runs on a bare GPU machine with PyTorch.

    python3 bench/gpu_train_check.py [--arch small-cnn] [--n 2048] [--img-size 64] [--batch-size 128] [--epochs 4]

On synthetic images whose class is readable from their colour (3 classes, uint8 in memory):
1. trains the model with ``train_classifier`` on CUDA under autocast, once per precision (bf16 where
   supported, fp16 with a GradScaler, fp32), and checks that the loss falls and the validation accuracy
   ends >= 0.9;
2. evaluates: a checkpoint round trip (``classifier_from_checkpoint``) gives the same logits, and
   inference throughput under autocast;
3. a real CUDA out-of-memory (resnet18, 4096 x 512 px) becomes TrainingOutOfMemory with a batch size to try.
Prints training and inference images/s per precision; exits 1 if a check fails.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from robustness.ml.checkpoints import (  # noqa: E402
    checkpoint_build,
    checkpoint_read,
    checkpoint_write,
    classifier_from_checkpoint,
)
from robustness.ml.devices import autocast, seed_everything  # noqa: E402
from robustness.ml.models import create_model  # noqa: E402
from robustness.ml.training import (  # noqa: E402
    LabelledImages,
    TrainingConfig,
    TrainingOutOfMemory,
    train_classifier,
)

CUDA = torch.device("cuda")
failures: list[str] = []


def check(condition: bool, what: str) -> None:
    print(f"{'PASS' if condition else 'FAIL'}: {what}", flush=True)
    if not condition:
        failures.append(what)


def coloured_images(count: int, size: int, seed: int) -> LabelledImages:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 3
    images = (torch.rand(count, 3, size, size, generator=generator) * 120).to(torch.uint8)
    images[torch.arange(count), labels] += 120
    return LabelledImages(images, labels)


def train_once(args: argparse.Namespace, precision: str, train: LabelledImages, val: LabelledImages) -> None:
    generator = seed_everything(0)
    model = create_model(args.arch, 3)
    config = TrainingConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=3e-3, precision=precision, augmentation="flip-crop"
    )
    torch.cuda.synchronize()
    started = time.perf_counter()
    outcome = train_classifier(model, train, val, config, device=CUDA, generator=generator, on_epoch_end=lambda e: None)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    history = outcome.history
    best_rate = max(row["train_images_per_s"] for row in history)
    print(
        f"{args.arch} {outcome.precision}: {args.epochs} epochs in {seconds:.1f} s, train loss "
        f"{history[0]['train_loss']:.3f} -> {history[-1]['train_loss']:.3f}, val accuracy "
        f"{history[-1]['val_accuracy']:.3f}, best epoch {best_rate:.0f} train images/s"
    )
    check(history[-1]["train_loss"] < history[0]["train_loss"], f"{outcome.precision}: the training loss falls")
    check(max(row["val_accuracy"] for row in history) >= 0.9, f"{outcome.precision}: validation accuracy >= 0.9")
    evaluate(model, outcome.precision, val, args.img_size)


@torch.no_grad()
def evaluate(model: torch.nn.Module, precision: str, val: LabelledImages, img_size: int) -> None:
    model.eval()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "best.pt"
        arch = model.spec.name
        checkpoint_write(
            checkpoint_build(model=model, arch=arch, classes=["r", "g", "b"], img_size=img_size, epoch=1), path
        )
        loaded, _, _ = classifier_from_checkpoint(checkpoint_read(path))
    pixels = val.images[:64].to(CUDA).float() / 255
    same = torch.allclose(loaded.to(CUDA).float()(pixels), model.float()(pixels), atol=1e-4)
    check(same, f"{precision}: the checkpoint reloads to the same logits")
    batch = val.images.to(CUDA).float().div_(255).contiguous(memory_format=torch.channels_last)
    model.to(memory_format=torch.channels_last)
    for _ in range(3):
        with autocast(CUDA, precision):
            model(batch)
    torch.cuda.synchronize()
    started, rounds = time.perf_counter(), 10
    for _ in range(rounds):
        with autocast(CUDA, precision):
            model(batch)
    torch.cuda.synchronize()
    rate = rounds * len(batch) / (time.perf_counter() - started)
    print(f"{precision}: inference {rate:.0f} images/s (batch {len(batch)})")


def out_of_memory() -> None:
    huge = LabelledImages(torch.zeros(4096, 3, 512, 512, dtype=torch.uint8), torch.zeros(4096, dtype=torch.long))
    try:
        train_classifier(
            create_model("resnet18", 3), huge, LabelledImages(huge.images[:0], huge.labels[:0]),
            TrainingConfig(epochs=1, batch_size=4096), device=CUDA, generator=seed_everything(0),
            on_epoch_end=lambda end: None,
        )  # fmt: skip
    except TrainingOutOfMemory as error:
        print(f"out of memory: {error}")
        check("try --batch-size 2048" in str(error), "a real CUDA OOM suggests a smaller batch size")
    else:
        check(False, "a real CUDA OOM suggests a smaller batch size (no OOM happened)")
    torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="small-cnn")
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device here")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(CUDA)}, bf16: {torch.cuda.is_bf16_supported()}")
    train, val = coloured_images(args.n, args.img_size, 0), coloured_images(args.n // 4, args.img_size, 1)
    precisions = (["bf16"] if torch.cuda.is_bf16_supported() else []) + ["fp16", "fp32"]
    for precision in precisions:
        train_once(args, precision, train, val)
    out_of_memory()
    print(f"{len(failures)} check(s) failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
