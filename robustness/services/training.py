"""Training runs: start one (checks, rows, job), run it as a job (decode, train or resume, record the model).

Checkpoints are recorded per epoch and resumed from by services/checkpoints.py; each epoch's
metrics say which job attempt computed them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_create, job_enqueue
from robustness.ml.augmentations import DEFAULT_AUGMENTATION, augmentation_get
from robustness.ml.checkpoints import CheckpointInvalid
from robustness.ml.devices import device_describe, device_resolve, precision_resolve, seed_everything
from robustness.ml.models import WeightsUnavailable, create_model, model_default_img_size, model_names
from robustness.ml.training import TrainingConfig, TrainingError, batch_bounds, train_classifier
from robustness.models import TrainedModel, TrainingRun
from robustness.services.checkpoints import EpochRecorder, checkpoint_delete_unreferenced, training_run_resume_state
from robustness.services.training_data import (
    TrainingDataError,
    decode_units,
    members_decode,
    training_classes_check,
    training_split,
)

TRAIN_JOB_KIND = "train"


@functools.cache
def code_version() -> str:
    """The git commit of the running code (``+dirty`` with uncommitted tracked changes), else the package version."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=settings.BASE_DIR, timeout=10).returncode
        return f"{head}+dirty" if dirty == 1 else head
    except (OSError, subprocess.SubprocessError):
        try:
            return f"winnow {importlib.metadata.version('winnow')}"
        except importlib.metadata.PackageNotFoundError:
            return "winnow (unknown version)"


def training_run_start(
    *,
    version: DatasetVersion,
    arch: str,
    requested_by: User | None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    img_size: int | None = None,
    seed: int = 0,
    device: str = "auto",
    augmentation: str = DEFAULT_AUGMENTATION,
    optimizer: str = "adamw",
    weight_decay: float = 1e-4,
    precision: str = "auto",
    enqueue: bool = True,
) -> TrainingRun:
    """Check the request, create the run and its `train` job (gpu queue), and send it once committed.

    Args:
        version: the dataset version to train on (its train split; val split or a seeded 20% holdout).
        arch: a registered architecture (robustness.ml.models.model_names()).
        requested_by: needs the run_gpu_jobs capability (admins); None for system runs.
        epochs, batch_size, lr, img_size (default: the architecture's), seed, device (auto, cpu, cuda,
        cuda:N), augmentation (a preset name), optimizer (adamw, sgd), weight_decay, precision
        (auto, fp32, bf16, fp16; mixed precision applies on CUDA only).
        enqueue: False creates the job without sending it (the command runs it in-process).
    Raises ApplicationError: unknown_arch, invalid_hyperparameters, empty_version, one_class,
    permission_denied (403).
    """
    if arch not in model_names():
        raise ApplicationError(
            f"Unknown architecture {arch!r}; known: {', '.join(model_names())}.", code="unknown_arch"
        )
    img_size = img_size or model_default_img_size(arch)
    config = _config_or_error(epochs, batch_size, lr, weight_decay, optimizer, augmentation, precision)
    _device_or_error(device, img_size)
    try:
        classes = training_classes_check(version)
    except TrainingDataError as error:
        code = "empty_version" if "nothing to train on" in str(error) else "one_class"
        raise ApplicationError(str(error), code=code)
    hyperparameters = {
        "epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr, "img_size": img_size,
        "optimizer": config.optimizer, "weight_decay": config.weight_decay, "momentum": config.momentum,
        "label_smoothing": config.label_smoothing, "precision": config.precision,
    }  # fmt: skip
    with transaction.atomic():
        job = job_create(kind=TRAIN_JOB_KIND, params={}, requested_by=requested_by)
        run = TrainingRun.objects.create(
            job=job, version=version, arch=arch, hyperparameters=hyperparameters, augmentation=config.augmentation,
            augmentation_spec=augmentation_get(config.augmentation).spec(), seed=seed, device=device,
            code_version=code_version(), classes=classes, requested_by=requested_by,
        )  # fmt: skip
        job.params = {"run_id": run.pk}
        job.save(update_fields=["params"])
        if enqueue:
            job_enqueue(job)
    return run


def training_run_repeat(*, run: TrainingRun, requested_by: User | None) -> TrainingRun:
    """Start a new run with ``run``'s version, architecture, seed, device, augmentation and hyper-parameters."""
    stored = run.hyperparameters
    return training_run_start(
        version=run.version, arch=run.arch, requested_by=requested_by, epochs=stored["epochs"],
        batch_size=stored["batch_size"], lr=stored["lr"], img_size=stored["img_size"], seed=run.seed,
        device=run.device, augmentation=run.augmentation, optimizer=stored["optimizer"],
        weight_decay=stored["weight_decay"], precision=stored["precision"],
    )  # fmt: skip


def _config_or_error(
    epochs: int, batch_size: int, lr: float, weight_decay: float, optimizer: str, augmentation: str, precision: str
) -> TrainingConfig:
    try:
        config = TrainingConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
            augmentation=augmentation, precision=precision,
        )  # fmt: skip
        precision_resolve(precision, device_resolve("cpu"))
    except (ValueError, KeyError) as error:
        raise ApplicationError(str(error).strip("'\""), code="invalid_hyperparameters")
    return config


def _device_or_error(device: str, img_size: int) -> None:
    """The device is checked where the job runs (a GPU worker); here only its spelling, and the size."""
    if device != "auto" and device.split(":")[0] not in ("cpu", "cuda"):
        raise ApplicationError(
            f"Unknown device {device!r}: use auto, cpu, cuda or cuda:N.", code="invalid_hyperparameters"
        )
    if not 8 <= img_size <= 1024:
        raise ApplicationError(f"img_size must be between 8 and 1024, got {img_size}.", code="invalid_hyperparameters")


def training_run_config(run: TrainingRun) -> TrainingConfig:
    """The TrainingConfig a run was started with (hyper-parameters as stored)."""
    stored = run.hyperparameters
    fields = ("epochs", "batch_size", "lr", "weight_decay", "optimizer", "momentum", "label_smoothing", "precision")
    return TrainingConfig(augmentation=run.augmentation, **{name: stored[name] for name in fields})


def training_run_execute(*, run: TrainingRun, ctx: JobContext) -> dict[str, Any]:
    """The body of the `train` job: decode, train (or resume), checkpoint each epoch, record the model.

    Clear failures (JobFailed): the version cannot be trained on, the device is missing, promised
    weights are missing, a non-finite loss (the last good checkpoint is kept), CUDA out of memory.
    """
    try:
        return _execute(run, ctx)
    except (TrainingError, TrainingDataError, WeightsUnavailable, CheckpointInvalid) as error:
        raise JobFailed(str(error))


def _execute(run: TrainingRun, ctx: JobContext) -> dict[str, Any]:
    config, img_size = training_run_config(run), int(run.hyperparameters["img_size"])
    try:
        device = device_resolve(run.device)
    except ValueError as error:
        raise JobFailed(str(error))
    split = training_split(run.version, seed=run.seed)
    if split.classes != run.classes:
        raise JobFailed(f"the version's classes changed since the run started: {split.classes} != {run.classes}")
    steps = config.epochs * len(batch_bounds(len(split.train), config.batch_size))
    decode_total = decode_units(len(split.train) + len(split.val), config.batch_size)
    total = decode_total + steps
    TrainingRun.objects.filter(pk=run.pk).update(
        device_used=device_describe(device), precision=precision_resolve(config.precision, device),
        validation=split.validation, train_count=len(split.train), val_count=len(split.val),
    )  # fmt: skip
    ctx.log(f"training {run.arch} on {run.version}: {len(split.train)} train, validation: {split.validation}")

    def decoded(count: int) -> None:
        ctx.progress(decode_units(count, config.batch_size), total, f"decoding images {count}")

    train = members_decode(split.train, img_size=img_size, on_decoded=decoded)
    val = members_decode(split.val, img_size=img_size, on_decoded=lambda count: decoded(len(split.train) + count))
    generator = seed_everything(run.seed)
    model = create_model(run.arch, len(run.classes))
    resume = training_run_resume_state(run, model, ctx)
    with tempfile.TemporaryDirectory(prefix=f"training-run-{run.pk}-") as folder:
        store = EpochRecorder(run, model, img_size, Path(folder), ctx)
        outcome = train_classifier(
            model, train, val, config, device=device, generator=generator, on_epoch_end=store,
            on_batch=lambda done, _total, message: ctx.progress(decode_total + done, total, message), resume=resume,
        )  # fmt: skip
    trained_model = _trained_model_record(run, model.spec.mean, model.spec.std)
    return {
        "run": run.pk, "trained_model": trained_model.pk, "epochs": len(outcome.history),
        "best_epoch": outcome.best_epoch, "best_val_accuracy": trained_model.metrics["val_accuracy"],
    }  # fmt: skip


def _trained_model_record(run: TrainingRun, mean: tuple[float, ...], std: tuple[float, ...]) -> TrainedModel:
    run.refresh_from_db()
    best = next(row for row in run.epoch_metrics if row["epoch"] == run.best_epoch)
    metrics = {
        **{key: best[key] for key in ("epoch", "val_accuracy", "val_loss", "train_accuracy", "train_loss")},
        "epochs": len(run.epoch_metrics), "validation": run.validation,
    }  # fmt: skip
    trained_model, _ = TrainedModel.objects.update_or_create(
        run=run,
        defaults={
            "name": f"{run.arch} on {run.version} (run {run.pk})", "arch": run.arch, "classes": run.classes,
            "img_size": run.hyperparameters["img_size"], "normalization": {"mean": list(mean), "std": list(std)},
            "checkpoint_best_key": run.checkpoint_best_key, "checkpoint_last_key": run.checkpoint_last_key,
            "metrics": metrics, "trained_on": run.version,
        },
    )  # fmt: skip
    return trained_model


def training_job_cleanup(job: Job) -> None:
    """After a failure or cancel: drop a half-recorded model and checkpoint files the run does not reference.

    The last good checkpoint (and the best) stay: a failed run can be inspected, or its model used.
    """
    run = TrainingRun.objects.filter(job=job).first()
    if run is None:
        return
    TrainedModel.objects.filter(run=run).delete()
    keep = {key for key in (run.checkpoint_last_key, run.checkpoint_best_key) if key}
    checkpoint_delete_unreferenced(run_id=run.pk, keep=keep)
