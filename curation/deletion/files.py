"""What doomed rows own in storage, and removing it once nothing points at it.

Sample blobs (image, thumbnail, mask) are content-addressed: one blob serves every sample with the same
bytes, in any dataset. Their keys go to the blob collector (curation/services/blob_claims.py), which
deletes a blob only when no sample row names it and no writer has claimed it (an import that was told
the blob exists and has not inserted its row yet).

A run's files are its own: a folder per row (an embedding set's, an export's, an explanation's…) is
deleted whole once the row is gone, and keys kept in fields (a cluster run's arrays, a training run's
checkpoints, which its trained model names too) go through the same collector, "needed" meaning that a
surviving row of a model in STORED_FILES names the key.

STORED_FILES says, per model label, what its rows own. A model with a `*_key` field must be in it or in
KEYS_NOT_OWNED (tests/curation/test_deletion.py walks every model), so a new run model has to say where
its files are: `stored_files_register("app.Model", StoredFiles(...))` from its app.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.apps import apps
from django.db import connection
from django.db.models import Model, Q

from curation.services.blob_claims import blobs_collect

SAMPLE_LABEL = "curation.Sample"
SAMPLE_BLOB_FIELDS = ("image_key", "thumbnail_key", "mask_key")


@dataclass(frozen=True)
class StoredFiles:
    """key_fields: fields holding storage keys; folder: the storage folder of a row, from its id (or the folders
    it may be in, when the folder depends on more than the id: a generic report's is per kind)."""

    key_fields: tuple[str, ...] = ()
    folder: Callable[[int], str | tuple[str, ...]] | None = None


def _embedding_set_folder(embedding_set_id: int) -> str:
    from curation.embeddings.services.chunks import set_prefix  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return set_prefix(embedding_set_id)


def _export_folder(export_id: int) -> str:
    from curation.exports.services.outputs import export_folder  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return export_folder(export_id)


def _mask_set_folder(mask_set_id: int) -> str:
    from curation.masks.services import MASKS_PREFIX  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return f"{MASKS_PREFIX}/{mask_set_id}"


def _checkpoint_folder(training_run_id: int) -> str:
    from robustness.services.checkpoints import CHECKPOINT_PREFIX  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return f"{CHECKPOINT_PREFIX}/{training_run_id}"


def _evaluation_folder(evaluation_run_id: int) -> str:
    from robustness.evaluation.services.inference import EXAMPLES_PREFIX  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return f"{EXAMPLES_PREFIX}/{evaluation_run_id}"


def _explanation_folder(explanation_run_id: int) -> str:
    from explain.services.runs import RUNS_PREFIX  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return f"{RUNS_PREFIX}/{explanation_run_id}"


def _spurious_folder(report_id: int) -> str:
    from explain.spurious.services.reports import EXAMPLES_PREFIX  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    return f"{EXAMPLES_PREFIX}/{report_id}"


def _model_report_folders(report_id: int) -> tuple[str, ...]:
    # `reports/<kind>/<id>` (ModelReport.storage_prefix): the row, and so its kind, is gone when its files go.
    from robustness.reports.job_kinds import report_kinds  # noqa: PLC0415 - the owning app's module, loaded on use
    from robustness.reports.models import ModelReport  # noqa: PLC0415 - the owning app's module, loaded on use

    return tuple(f"{ModelReport.STORAGE_PREFIX}/{kind.name}/{report_id}" for kind in report_kinds())


STORED_FILES: dict[str, StoredFiles] = {
    "embeddings.EmbeddingSet": StoredFiles(("embeddings_key", "row_ids_key", "index_key"), _embedding_set_folder),
    "embeddings.EmbeddingChunk": StoredFiles(("blob_key",)),
    "embeddings.EmbeddingMap": StoredFiles(("points_key",)),
    "pruning.ClusterRun": StoredFiles(("assignment_key", "centroids_key")),
    "pruning.PruneRun": StoredFiles(("budgets_key",)),
    "exports.Export": StoredFiles(("checksum_key",), _export_folder),
    "masks.MaskSet": StoredFiles(folder=_mask_set_folder),
    "robustness.TrainingRun": StoredFiles(("checkpoint_last_key", "checkpoint_best_key"), _checkpoint_folder),
    "robustness.TrainedModel": StoredFiles(("checkpoint_best_key", "checkpoint_last_key")),
    "evaluation.EvaluationRun": StoredFiles(folder=_evaluation_folder),
    "explain.ExplanationRun": StoredFiles(folder=_explanation_folder),
    "spurious.SpuriousReport": StoredFiles(folder=_spurious_folder),
    "reports.ModelReport": StoredFiles(folder=_model_report_folders),
}
# Models with `*_key` fields that own no file a deletion must remove itself, and why.
KEYS_NOT_OWNED: dict[str, str] = {
    SAMPLE_LABEL: "shared content-addressed blobs: the blob collector removes them (SAMPLE_BLOB_FIELDS)",
    "curation.BlobClaim": "a claim names a blob, it does not own it",
    "embeddings.DuplicateCalibration": "`key` names a calibration, not a file",
    "masks.EstimatedMask": "its PNG lies in its mask set's folder",
    "explain.SampleExplanation": "its maps lie in its run's folder",
}


def stored_files_register(label: str, files: StoredFiles) -> None:
    """Say what rows of model `label` own in storage (for run models added by other apps)."""
    STORED_FILES[label] = files


def key_fields(model: type[Model]) -> tuple[str, ...]:
    """The fields of `model` whose values are storage keys its rows own (or share, for samples)."""
    label = model._meta.label
    return SAMPLE_BLOB_FIELDS if label == SAMPLE_LABEL else STORED_FILES.get(label, StoredFiles()).key_fields


def doomed_keys(model: type[Model], ids: list[int]) -> list[str]:
    """The storage keys that rows `ids` of `model` name (read before they are deleted, in that transaction)."""
    fields = key_fields(model)
    if not fields:
        return []
    rows = model._base_manager.filter(pk__in=ids).values_list(*fields)
    return [key for row in rows for key in row if key]


def files_remove(model: type[Model], ids: list[int], keys: Iterable[str]) -> int:
    """Once rows `ids` of `model` are deleted (committed): remove the keys nothing needs and their folders.

    Returns how many blobs and files went.
    """
    from curation.embeddings.files import storage_delete_prefix  # noqa: PLC0415 - the owning app's module, loaded on use (its services may load ML libraries)

    label = model._meta.label
    needed = None if label == SAMPLE_LABEL else run_keys_referenced
    removed = len(blobs_collect(keys) if needed is None else blobs_collect(keys, needed=needed))
    folder = STORED_FILES.get(label, StoredFiles()).folder
    if folder is not None:
        for pk in ids:
            folders = folder(pk)
            removed += sum(storage_delete_prefix(f) for f in ((folders,) if isinstance(folders, str) else folders))
    return removed


class FileRemoval:
    """Runs `files_remove` for each committed batch in a thread of its own (its own database connection),
    so that removing a batch's blobs overlaps deleting the next batch's rows; at most `depth` batches wait.

    Inside an outer transaction (a test's) it works inline: another connection would not see that
    transaction's rows. `removed` counts what the finished batches removed. Use it as a context manager:
    leaving waits for every batch (on an error, only for the one under way).
    """

    def __init__(self, depth: int = 2):
        self.depth = depth
        self.removed = 0
        self._pool = None if connection.in_atomic_block else ThreadPoolExecutor(1, thread_name_prefix="deletion-files")
        self._pending: deque[Future[int]] = deque()

    def submit(self, model: type[Model], ids: list[int], keys: list[str]) -> None:
        if self._pool is None:
            self.removed += files_remove(model, ids, keys)
            return
        while len(self._pending) >= self.depth:
            self.removed += self._pending.popleft().result()
        self._pending.append(self._pool.submit(files_remove, model, ids, keys))

    def __enter__(self) -> FileRemoval:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if self._pool is None:
            return
        try:
            while self._pending:
                future = self._pending.popleft()
                if error_type is None:
                    self.removed += future.result()
                else:
                    future.cancel()
        finally:
            self._pool.submit(_connection_close).result()
            self._pool.shutdown(wait=True)


def _connection_close() -> None:
    """Close the calling thread's database connection (`connection` resolves per thread when called)."""
    connection.close()


def run_keys_referenced(keys: list[str]) -> set[str]:
    """Those of `keys` that a row of a model in STORED_FILES still names in one of its key fields."""
    named: set[str] = set()
    for label, files in STORED_FILES.items():
        if not files.key_fields:
            continue
        rows = apps.get_model(label)._base_manager.filter(
            reduce(or_, (Q(**{f"{f}__in": keys}) for f in files.key_fields))
        )
        named.update(key for row in rows.values_list(*files.key_fields) for key in row)
    return named.intersection(keys)
