# Over 300 lines: the training loop with its out-of-memory and non-finite handling, optimiser and batching is one
# algorithm.
"""The supervised training loop: cross-entropy, AdamW or SGD, cosine schedule per step.

Images arrive decoded once as uint8 tensors (N, 3, S, S); each batch is converted to [0, 1] and
augmented on the training device. On CUDA the forward runs under autocast (bf16 where supported,
else fp16 with a GradScaler) in channels-last. After every epoch the validation set is scored
and ``on_epoch_end`` gets the metrics and a resumable training state (optimizer, scheduler,
scaler, epoch, RNG states, history); the caller stores the checkpoint. Resuming from such a
state continues with the next epoch and gives the same numbers as an uninterrupted run.

Failures are clear errors, raised before anything of the bad epoch is reported: a non-finite
loss (NonFiniteLoss: the last reported checkpoint is the last good one), CUDA out of memory
(TrainingOutOfMemory, with a smaller batch size to try).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from robustness.ml.augmentations import DEFAULT_AUGMENTATION, augmentation_get
from robustness.ml.devices import autocast, precision_resolve, rng_state_capture, rng_state_restore
from robustness.ml.models import Classifier
from robustness.ml.training_options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_OPTIMIZER,
    DEFAULT_PRECISION,
    DEFAULT_WEIGHT_DECAY,
    OPTIMIZERS,
)

# A device-to-host sync per batch costs GPU throughput; the loss is checked for NaN every this many batches.
FINITE_CHECK_EVERY = 8


class TrainingError(Exception):
    """A clear reason why training stopped."""


class NonFiniteLoss(TrainingError):
    pass


class TrainingOutOfMemory(TrainingError):
    pass


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of one run (stored with it); defaults suit the small CNN at 64 px."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    weight_decay: float = DEFAULT_WEIGHT_DECAY
    optimizer: str = DEFAULT_OPTIMIZER
    momentum: float = 0.9  # SGD only
    label_smoothing: float = 0.0
    augmentation: str = DEFAULT_AUGMENTATION
    precision: str = DEFAULT_PRECISION

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        augmentation_get(self.augmentation)


@dataclass
class LabelledImages:
    """uint8 images (N, 3, S, S) and int64 class indices (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class EpochEnd:
    """What ``on_epoch_end`` receives: this epoch's metrics and the state to checkpoint."""

    metrics: dict[str, float]
    is_best: bool
    training_state: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class TrainingOutcome:
    history: list[dict[str, float]]
    best_epoch: int
    precision: str


def train_classifier(
    model: Classifier,
    train: LabelledImages,
    val: LabelledImages,
    config: TrainingConfig,
    *,
    device: torch.device,
    generator: torch.Generator,
    on_epoch_end: Callable[[EpochEnd], None],
    on_batch: Callable[[int, int, str], None] | None = None,
    resume: dict[str, Any] | None = None,
) -> TrainingOutcome:
    """Train ``model`` in place for ``config.epochs`` epochs (from ``resume``'s epoch + 1 if given).

    Args:
        model: a Classifier (weights already loaded when resuming).
        train, val: decoded images and labels; val may be empty only if train is (it is not checked here).
        device: where to train; generator: the seeded CPU generator for shuffling and augmentation.
        on_epoch_end: called after each epoch with metrics and a resumable training state.
        on_batch: called after each batch with (done, total, message) over the whole run; may raise to stop.
        resume: the ``training_state`` of a checkpoint.
    Raises NonFiniteLoss, TrainingOutOfMemory.
    """
    loop = _Loop(model, train, val, config, device, generator)
    if resume is not None:
        loop.restore(resume)
    for epoch in range(loop.epoch + 1, config.epochs + 1):
        started = time.perf_counter()
        train_loss, train_accuracy, trained = loop.train_epoch(epoch, on_batch)
        train_seconds = time.perf_counter() - started
        val_loss, val_accuracy = loop.evaluate(val)
        if not math.isfinite(val_loss):
            raise loop.non_finite(epoch, "validation")
        metrics = {
            "epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy, "val_loss": val_loss,
            "val_accuracy": val_accuracy, "lr": loop.optimizer.param_groups[0]["lr"],
            "seconds": round(time.perf_counter() - started, 3), "train_images_per_s": round(trained / train_seconds, 1),
        }  # fmt: skip
        is_best = loop.record(metrics)
        on_epoch_end(EpochEnd(metrics, is_best, loop.state()))
    return TrainingOutcome(loop.history, loop.best_epoch, loop.precision)


class _Loop:
    def __init__(
        self,
        model: Classifier,
        train: LabelledImages,
        val: LabelledImages,
        config: TrainingConfig,
        device: torch.device,
        generator: torch.Generator,
    ):
        self.config, self.device, self.generator = config, device, generator
        self.precision = precision_resolve(config.precision, device)
        self.memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        self.model = model.to(device).to(memory_format=self.memory_format)  # type: ignore[call-overload]
        self.train_images = _on_device_if_small(train.images, device)
        self.train_labels = train.labels.to(device)
        self.val = val
        self.augmentation = augmentation_get(config.augmentation)
        self.batches = batch_bounds(len(train), config.batch_size)
        self.steps_per_epoch = len(self.batches)
        self.optimizer = _optimizer(model, config)
        total_steps = max(config.epochs * self.steps_per_epoch, 1)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total_steps)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision == "fp16")
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.epoch, self.best_epoch, self.best_accuracy = 0, 0, -1.0
        self.history: list[dict[str, float]] = []

    def train_epoch(self, epoch: int, on_batch: Callable[[int, int, str], None] | None) -> tuple[float, float, int]:
        """One pass over the shuffled training set; returns (mean loss, accuracy, images trained on)."""
        self.model.train()
        order = torch.randperm(len(self.train_labels), generator=self.generator).to(self.train_images.device)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for index, (start, stop) in enumerate(self.batches):
            rows = order[start:stop]
            pixels = self._pixels(self.train_images[rows])
            pixels = self.augmentation.apply(pixels, self.generator).contiguous(memory_format=self.memory_format)
            labels = self.train_labels[rows.to(self.train_labels.device)]
            loss, logits = self._step(pixels, labels)
            loss_sum += loss.detach().float() * len(rows)
            correct += (logits.argmax(dim=1) == labels).sum()
            seen += len(rows)
            checked = (index + 1) % FINITE_CHECK_EVERY == 0 or index + 1 == self.steps_per_epoch
            if checked and not math.isfinite(loss_sum.item()):
                raise self.non_finite(epoch, f"training batch {index + 1}")
            if on_batch is not None:
                done = (epoch - 1) * self.steps_per_epoch + index + 1
                message = f"epoch {epoch}/{self.config.epochs}, batch {index + 1}/{self.steps_per_epoch}"
                on_batch(done, self.config.epochs * self.steps_per_epoch, message)
        return loss_sum.item() / max(seen, 1), correct.item() / max(seen, 1), seen

    def _pixels(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, non_blocking=True).float().div_(255)

    def _step(self, pixels: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            with autocast(self.device, self.precision):
                logits = self.model(pixels)
                loss = self.criterion(logits.float(), labels)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        except torch.cuda.OutOfMemoryError as error:
            raise self.out_of_memory(pixels.shape[-1]) from error
        self.scheduler.step()
        return loss, logits

    @torch.no_grad()
    def evaluate(self, data: LabelledImages) -> tuple[float, float]:
        """Mean loss and top-1 accuracy on ``data`` (no augmentation); (0, 0) for an empty set."""
        self.model.eval()
        loss_sum, correct = 0.0, 0
        batch_size = 2 * self.config.batch_size
        try:
            for start in range(0, len(data), batch_size):
                pixels = self._pixels(data.images[start : start + batch_size]).contiguous(
                    memory_format=self.memory_format
                )
                labels = data.labels[start : start + batch_size].to(self.device)
                with autocast(self.device, self.precision):
                    logits = self.model(pixels).float()
                loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
                correct += int((logits.argmax(dim=1) == labels).sum().item())
        except torch.cuda.OutOfMemoryError as error:
            raise self.out_of_memory(data.images.shape[-1]) from error
        return loss_sum / max(len(data), 1), correct / max(len(data), 1)

    def record(self, metrics: dict[str, float]) -> bool:
        """Count the epoch as finished (it will be checkpointed); True when it is the best so far."""
        self.epoch = int(metrics["epoch"])
        self.history.append(metrics)
        if metrics["val_accuracy"] > self.best_accuracy:
            self.best_accuracy, self.best_epoch = metrics["val_accuracy"], int(metrics["epoch"])
            return True
        return False

    def state(self) -> dict[str, Any]:
        """A CPU copy of everything needed to continue after this epoch (the live tensors keep changing)."""
        return _cpu_copy(
            {
                "epoch": self.epoch,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "rng": rng_state_capture(self.generator),
                "history": [dict(row) for row in self.history],
                "best_epoch": self.best_epoch,
                "best_accuracy": self.best_accuracy,
                "config": asdict(self.config),
            }
        )

    def restore(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        rng_state_restore(state["rng"], self.generator)
        self.epoch, self.history = int(state["epoch"]), [dict(row) for row in state["history"]]
        self.best_epoch, self.best_accuracy = int(state["best_epoch"]), float(state["best_accuracy"])

    def non_finite(self, epoch: int, where: str) -> NonFiniteLoss:
        kept = f"the last good checkpoint is epoch {self.epoch}" if self.epoch else "no epoch finished before it"
        return NonFiniteLoss(
            f"loss became NaN or infinite in epoch {epoch} ({where}) with lr {self.config.lr:g}; "
            f"{kept}. Lower the learning rate."
        )

    def out_of_memory(self, img_size: int) -> TrainingOutOfMemory:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        smaller = max(self.config.batch_size // 2, 1)
        return TrainingOutOfMemory(
            f"CUDA ran out of memory with batch size {self.config.batch_size} at {img_size} px on {self.device}; "
            f"try --batch-size {smaller} (or a smaller --img-size)."
        )


def _cpu_copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_cpu_copy(item) for item in value)
    return value


def _optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def batch_bounds(count: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch (start, stop) pairs; a last batch of one sample is dropped (batch norm cannot train on it)."""
    bounds = [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds.pop()
    return bounds


def _on_device_if_small(images: torch.Tensor, device: torch.device, limit_bytes: int = 2 << 30) -> torch.Tensor:
    """Training images live on the GPU when they fit in ``limit_bytes``; else pinned host memory."""
    if device.type != "cuda":
        return images
    if images.numel() * images.element_size() <= limit_bytes:
        return images.to(device)
    return images.pin_memory()
