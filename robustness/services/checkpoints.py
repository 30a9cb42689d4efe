"""Checkpoints in Django's storage (never hand-built paths): recording one per epoch, resuming from
the last, and loading a trained model from them.

Resumability: after every epoch the "last" checkpoint (weights and the full training state) is
uploaded first, then the run row records it together with that epoch's metrics in one transaction
fenced by the job attempt. A later attempt reads the row's checkpoint and continues with the next
epoch; an epoch interrupted half-way is recomputed from its start, a recorded one never is.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from core.storage import blob_open, blobs_delete, storage_keys
from jobs.models import Job, JobStatus
from jobs.runtime import JobContext
from jobs.services import AttemptSuperseded
from robustness.ml.checkpoints import checkpoint_build, checkpoint_read, checkpoint_write, classifier_from_checkpoint
from robustness.ml.models import Classifier
from robustness.ml.preprocessing import Preprocessing
from robustness.ml.training import EpochEnd
from robustness.models import TrainedModel, TrainingRun

CHECKPOINT_PREFIX = "checkpoints/training-runs"
logger = logging.getLogger(__name__)


def checkpoint_store(*, run_id: int, name: str, local_path: Path) -> str:
    """Upload a checkpoint file as ``checkpoints/training-runs/<run>/<name>.pt``; returns the key it got.

    The storage picks another name when one exists (a file a killed attempt left), so a key
    recorded on a row always names a complete file.
    """
    with local_path.open("rb") as handle:
        return default_storage.save(f"{CHECKPOINT_PREFIX}/{run_id}/{name}.pt", File(handle))


def checkpoint_keys_of_run(run_id: int) -> list[str]:
    """Every file stored under the run's checkpoint folder (referenced or not)."""
    return storage_keys(f"{CHECKPOINT_PREFIX}/{run_id}")


def checkpoint_delete_unreferenced(*, run_id: int, keep: set[str]) -> list[str]:
    """Delete the run's checkpoint files other than ``keep``; returns the deleted keys.

    One listing and one bulk delete (one request per 1,000 keys on object storage). Raises BlobsNotDeleted naming
    the files that could not go, once every other one is deleted; the next call lists them again.
    """
    deleted = [key for key in checkpoint_keys_of_run(run_id) if key not in keep]
    blobs_delete(deleted)
    return deleted


def load_trained_model(
    trained_model: TrainedModel, *, checkpoint: str = "best"
) -> tuple[Classifier, list[str], Preprocessing]:
    """The trained classifier (eval mode, on CPU), its classes in output order, and its preprocessing.

    Args:
        trained_model: the row whose checkpoint to load.
        checkpoint: "best" (default, the best validation epoch) or "last".

    The classifier takes pixels in [0, 1] of shape (N, 3, img_size, img_size) and normalizes them
    itself; ``preprocessing.pixels(pil_image)`` makes one such image. Raises CheckpointInvalid when
    the file is not a checkpoint of this architecture.
    """
    key = trained_model.checkpoint_best_key if checkpoint == "best" else trained_model.checkpoint_last_key
    with blob_open(key) as handle:
        state = checkpoint_read(handle.read())
    return classifier_from_checkpoint(state)


def training_run_resume_state(run: TrainingRun, model: Classifier, ctx: JobContext) -> dict[str, Any] | None:
    """Load the run's last checkpoint into ``model`` and return its training state; None to start afresh."""
    run.refresh_from_db(fields=["checkpoint_last_key", "epoch_metrics"])
    if not run.checkpoint_last_key:
        return None
    with blob_open(run.checkpoint_last_key) as handle:
        checkpoint = checkpoint_read(handle.read())
    model.load_state_dict(checkpoint["model"])
    ctx.log(f"resumed from the checkpoint of epoch {checkpoint['epoch']} ({run.checkpoint_last_key})")
    return checkpoint["training_state"]


class EpochRecorder:
    """on_epoch_end: upload the checkpoint(s), then record them with the epoch's metrics (fenced by attempt)."""

    def __init__(self, run: TrainingRun, model: Classifier, img_size: int, folder: Path, ctx: JobContext):
        self.run, self.model, self.img_size, self.folder, self.ctx = run, model, img_size, folder, ctx

    def __call__(self, end: EpochEnd) -> None:
        epoch = int(end.metrics["epoch"])
        last_key = self._upload(f"last-epoch{epoch:03d}", epoch, end.training_state)
        best_key = self._upload(f"best-epoch{epoch:03d}", epoch, None) if end.is_best else ""
        attempt = Job.objects.select_for_update().filter(
            pk=self.ctx.job.pk, status=JobStatus.RUNNING, attempts=self.ctx.job.attempts
        )
        with transaction.atomic():
            owned = attempt.exists()
            keep = self._record(epoch, end, last_key, best_key) if owned else set()
        if not owned:  # another attempt owns the run now: what this one uploaded is nobody's
            _superseded_uploads_delete(last_key, best_key)
            raise AttemptSuperseded()
        checkpoint_delete_unreferenced(run_id=self.run.pk, keep=keep)
        metrics = end.metrics
        self.ctx.log(
            f"epoch {epoch}: train loss {metrics['train_loss']:.4f} acc {metrics['train_accuracy']:.3f}, "
            f"val loss {metrics['val_loss']:.4f} acc {metrics['val_accuracy']:.3f}"
            + (" (best so far)" if end.is_best else "")
        )

    def _record(self, epoch: int, end: EpochEnd, last_key: str, best_key: str) -> set[str]:
        """Append the epoch's metrics and point the run at its checkpoints; returns the keys to keep."""
        run = TrainingRun.objects.select_for_update().get(pk=self.run.pk)
        run.epoch_metrics = [*run.epoch_metrics, {**end.metrics, "attempt": self.ctx.job.attempts}]
        run.checkpoint_last_key = last_key
        if end.is_best:
            run.checkpoint_best_key, run.best_epoch = best_key, epoch
        run.save(update_fields=["epoch_metrics", "checkpoint_last_key", "checkpoint_best_key", "best_epoch"])
        return {run.checkpoint_last_key, run.checkpoint_best_key}

    def _upload(self, name: str, epoch: int, training_state: dict[str, Any] | None) -> str:
        path = self.folder / f"{name}.pt"
        checkpoint = checkpoint_build(
            model=self.model, arch=self.run.arch, classes=self.run.classes, img_size=self.img_size, epoch=epoch,
            training_state=training_state,
        )  # fmt: skip
        checkpoint_write(checkpoint, path)
        key = checkpoint_store(run_id=self.run.pk, name=name, local_path=path)
        path.unlink()
        return key


def _superseded_uploads_delete(*keys: str) -> None:
    """Delete a superseded attempt's uploads in one bulk request. One that cannot go is logged, not raised: the
    attempt must end as superseded, and the owning attempt's next sweep (checkpoint_delete_unreferenced) lists it."""
    try:
        blobs_delete(keys)
    except Exception:
        logger.exception("a superseded attempt's checkpoints were not all deleted: %s", ", ".join(filter(None, keys)))
