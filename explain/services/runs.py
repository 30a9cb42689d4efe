# Over 300 lines: one run-kit plug-in: the request checks and the batched explain job with its undo share the run's
# storage layout.
"""Explanation runs: check a request (the run kit creates the run and its `explain` job), explain in batches.

What fails fast does so before any job exists (the API answers 400): an unknown method or
parameter, a model whose classes cannot cover the version's labels, an empty split, and a target
layer that does not exist or an architecture without a conv layer and no override (found by
building the architecture without weights). The job repeats these checks first thing.

The job decodes the chosen samples once (at the model's input size, as in training), then per
batch of sample ids: maps, predictions, mask scores, ROAD and confidence drop; it stores the batch's
unscaled maps (one .npz) and three PNGs per sample (model input, heatmap, overlay), then replaces
the batch's rows in one transaction and reports progress (where a cancel takes effect). Batches are
fixed by the sorted sample ids, and a retried attempt skips the batches whose rows exist, so a batch
that runs twice does no harm. A failed or cancelled run keeps its row and its job's reason; its
sample rows (`explanation_rows_delete`) and files are removed by the run kit's cleanup (jobs.runs).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.api_errors import ApplicationError
from core.storage import blob_delete, blob_save, storage_keys
from curation.models import DatasetVersion, VersionSample
from explain.models import ExplanationRun, SampleExplanation
from explain.selectors import explanation_scores_summary
from explain.services.params import explanation_params_validate
from jobs.runs.services import run_create
from jobs.runtime import JobContext, JobFailed
from robustness.evaluation.services.dataset import (
    ALL_SPLITS,
    evaluation_classes_check,
    evaluation_set_load,
    evaluation_split_resolve,
)
from robustness.evaluation.services.masks import mask_source_resolve
from robustness.models import TrainedModel

if TYPE_CHECKING:
    import torch

    from explain.ml.cams import CamBatch, CamExplainer
    from robustness.evaluation.services.dataset import EvaluationSet

EXPLAIN_JOB_KIND = "explain"
RUNS_PREFIX = ExplanationRun.STORAGE_PREFIX
IMAGE_KINDS = ("input", "heatmap", "overlay")


def explanation_target_layer_check(*, arch: str, classes: list[str], target_layer: str | None) -> str:
    """The layer the job will explain (the override, the spec's, or the last conv), or ApplicationError.

    Builds the architecture without weights (no checkpoint is read). Raises ApplicationError
    `invalid_target_layer` (400) with the reason, `unknown_architecture` for an unregistered one.
    """
    from explain.ml.cams import TargetLayerError, target_layer_resolve  # noqa: PLC0415 - torch: loaded when a run is started (the layer check), not at start-up
    from robustness.ml.models import create_model  # noqa: PLC0415 - torch: loaded when a run is started (the layer check), not at start-up

    try:
        model = create_model(arch, len(classes), pretrained=False)
    except KeyError as error:
        raise ApplicationError(str(error.args[0]), code="unknown_architecture")
    try:
        return target_layer_resolve(model, target_layer)
    except TargetLayerError as error:
        raise ApplicationError(str(error), code="invalid_target_layer")


def explanation_run_create(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    method: str = "gradcam",
    target_layer: str | None = None,
    params: dict[str, Any] | None = None,
    requested_by: User | None,
    enqueue: bool = True,
) -> ExplanationRun:
    """Check the request, create the run and its `explain` job (gpu queue), and send it once committed.

    Args:
        trained_model: the model to explain.
        version: the dataset version whose samples are explained (its test split by default).
        method: gradcam (default), gradcam++ or eigencam.
        target_layer: dotted module path of the layer to explain; default: the architecture's last conv block.
        params: overrides of services/params.py DEFAULTS (target, split, classes, max_samples, batch_size, ...).
        requested_by: needs the run_gpu_jobs capability (admins); None for system runs.
        enqueue: False creates the job without sending it (the command runs it in-process).
    Raises ApplicationError: invalid_method, invalid_params, invalid_target_layer, classes_mismatch,
    empty_split (400), permission_denied (403).
    """
    run = run_create(
        kind=EXPLAIN_JOB_KIND, requested_by=requested_by, enqueue=enqueue, trained_model=trained_model,
        version=version, method=method, target_layer=target_layer, params=params,
    )  # fmt: skip
    return cast(ExplanationRun, run)


def explanation_run_prepare(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    method: str = "gradcam",
    target_layer: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checks of `explanation_run_create`, before any job exists; returns the run's fields (the kit's
    `prepare`). An empty target layer means the default one."""
    params = explanation_params_validate(method=method, params=params or {}, model_classes=trained_model.classes)
    layer = explanation_target_layer_check(
        arch=trained_model.arch, classes=trained_model.classes, target_layer=target_layer or None
    )
    params["split"] = evaluation_split_resolve(version=version, split=params["split"])
    count = evaluation_classes_check(version=version, split=params["split"], classes=trained_model.classes)
    masks = mask_source_resolve(version=version, split=params["split"], requested=params["masks"], required=False)
    params["masks"] = masks.provider if masks is not None else params["masks"]
    if params["classes"]:
        count = _members_of_classes(version, params["split"], params["classes"])
        if count == 0:
            message = f"Version {version.number} has no samples of {', '.join(params['classes'])} in that split."
            raise ApplicationError(message, code="empty_split")
    return {
        "trained_model": trained_model, "model_name": trained_model.name, "model_arch": trained_model.arch,
        "model_classes": trained_model.classes, "model_img_size": trained_model.img_size,
        "model_trained_on_id": trained_model.trained_on_id, "version": version, "method": method,
        "target_layer": layer, "split": params["split"], "params": params,
        "sample_count": min(count, params["max_samples"] or count),
    }  # fmt: skip


def _members_of_classes(version: DatasetVersion, split: str, classes: list[str]) -> int:
    members = VersionSample.objects.filter(version=version, label__in=classes)
    return (members if split == ALL_SPLITS else members.filter(split=split)).count()


def sample_image_key(run_id: int, sample_id: int, kind: str) -> str:
    return f"{RUNS_PREFIX}/{run_id}/samples/{sample_id}/{kind}.png"


def raw_batch_key(run_id: int, batch: int) -> str:
    return f"{RUNS_PREFIX}/{run_id}/raw/batch-{batch:05d}.npz"


def _blob_replace(key: str, data: bytes) -> str:
    blob_delete(key)  # a retried batch rewrites its files
    blob_save(key=key, data=data)
    return key


@dataclass
class _Batch:
    index: int
    positions: np.ndarray


class _Execution:
    """One attempt of a run's job: the model, the explainer, the decoded samples, and rows saved per batch."""

    def __init__(self, run: ExplanationRun, ctx: JobContext):
        self.run, self.ctx, self.params = run, ctx, run.params

    def load(self) -> None:
        from explain.ml.cams import TargetLayerError, create_explainer  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.ml.checkpoints import CheckpointInvalid  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.ml.devices import device_describe, device_resolve  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.ml.models import WeightsUnavailable  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.services import load_trained_model  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        trained = self.run.trained_model
        if trained is None:
            raise JobFailed(f"the model {self.run.model_name!r} was deleted before explanation run {self.run.pk} ran")
        try:
            model, classes, preprocessing = load_trained_model(trained)
        except (CheckpointInvalid, WeightsUnavailable, FileNotFoundError) as error:
            raise JobFailed(f"cannot load model {trained.name!r}: {error}")
        try:
            self.device = device_resolve(self.params["device"])
        except ValueError as error:
            raise JobFailed(str(error))
        self.model = model.to(self.device).eval()
        try:
            self.explainer: CamExplainer = create_explainer(
                self.run.method, model=self.model, target_layer=self.run.target_layer
            )
        except TargetLayerError as error:
            raise JobFailed(str(error))
        self.classes = classes
        self.ctx.log(
            f"{self.run.method} on layer {self.run.target_layer} of {trained.name} ({trained.arch}) "
            f"on {device_describe(self.device)}"
        )
        self.set: EvaluationSet = evaluation_set_load(
            version=self.run.version, split=self.run.split, classes=classes, preprocessing=preprocessing,
            max_samples=None if self.params["classes"] else self.params["max_samples"], seed=self.params["seed"],
            progress=lambda done, total: self.ctx.progress(0, 1, f"decoding images: {done} of {total}"),
        )  # fmt: skip
        self.positions = self._chosen_positions()
        self.ctx.log(f"{len(self.positions)} samples of split {self.run.split} at {preprocessing.img_size} px")
        try:  # the mask scores' source: the dataset's own masks, stored estimated ones, or none
            self.masks = mask_source_resolve(
                version=self.run.version, split=self.run.split, requested=self.params.get("masks", "auto"),
                required=False,
            )  # fmt: skip
        except ApplicationError as error:
            raise JobFailed(error.message)

    def _chosen_positions(self) -> np.ndarray:
        """Every decoded sample, or those of the chosen classes (then at most max_samples of them, seeded)."""
        wanted, limit = self.params["classes"], self.params["max_samples"]
        if not wanted:
            return np.arange(len(self.set))
        indices = [self.classes.index(name) for name in wanted]
        positions = np.flatnonzero(np.isin(self.set.targets, indices))
        if limit is None or len(positions) <= limit:
            return positions
        return np.sort(np.random.default_rng(self.params["seed"]).choice(positions, size=limit, replace=False))

    def batches(self) -> Iterator[_Batch]:
        size = self.params["batch_size"]
        for index, start in enumerate(range(0, len(self.positions), size)):
            yield _Batch(index, self.positions[start : start + size])

    def execute(self) -> dict[str, Any]:
        self.load()
        done_ids = set(SampleExplanation.objects.filter(run=self.run).values_list("sample_id", flat=True))
        total, explained = len(self.positions), 0
        try:
            for batch in self.batches():
                ids = self.set.sample_ids[batch.positions]
                if not set(ids.tolist()) <= done_ids:
                    self.explain_batch(batch)
                explained += len(batch.positions)
                self.ctx.progress(explained, total, f"explained {explained} of {total} samples")
        finally:
            self.explainer.close()
        return self.finish(total)

    def explain_batch(self, batch: _Batch) -> None:
        import torch  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        from robustness.evaluation.services.inference import pixels_from_uint8  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        torch.manual_seed(self.params["seed"] * 100_003 + batch.index)  # ROAD's imputation noise, per batch
        images = self.set.images[batch.positions]
        pixels = pixels_from_uint8(images, self.device)
        targets = None if self.params["target"] == "predicted" else self.set.targets[batch.positions].tolist()
        cams = self.explainer.explain(pixels, targets)
        rows = self.score_and_store(batch, images, pixels, cams)
        ids = [row.sample_id for row in rows]
        with transaction.atomic():
            SampleExplanation.objects.filter(run=self.run, sample_id__in=ids).delete()
            SampleExplanation.objects.bulk_create(rows)

    def score_and_store(
        self, batch: _Batch, images: np.ndarray, pixels: "torch.Tensor", cams: "CamBatch"
    ) -> list[SampleExplanation]:
        from explain.ml.overlays import heatmap_rgb, overlay_rgb, png_bytes, raw_maps_bytes  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from explain.ml.scores import confidence_drop, mask_scores_batch, road_combined, upsample  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        size = images.shape[1]
        samples = [self.set.samples[p] for p in batch.positions]
        masks = [self.masks.mask(sample, size) if self.masks else None for sample in samples]
        mask_scores = mask_scores_batch(upsample(cams.raw, (size, size)), masks)
        percentiles = self.params["road_percentiles"]
        road = (
            road_combined(self.model, pixels, cams.maps, cams.targets, percentiles=percentiles) if percentiles else None
        )
        drops = confidence_drop(self.model, pixels, cams.maps, cams.targets)
        probabilities = _softmax(cams.logits)
        predicted = probabilities.argmax(axis=1)
        ids = self.set.sample_ids[batch.positions]
        raw_key = _blob_replace(raw_batch_key(self.run.pk, batch.index), raw_maps_bytes(ids, cams.raw, cams.targets))
        own = self.set.own_background
        rows = []
        for i, position in enumerate(batch.positions):
            sample_id = int(ids[i])
            pictures = {
                "input": images[i],
                "heatmap": heatmap_rgb(cams.maps[i]),
                "overlay": overlay_rgb(images[i], cams.maps[i]),
            }
            keys = {
                kind: _blob_replace(sample_image_key(self.run.pk, sample_id, kind), png_bytes(picture))
                for kind, picture in pictures.items()
            }
            target = int(self.set.targets[position])
            rows.append(
                SampleExplanation(
                    run=self.run, sample_id=sample_id, label=self.classes[target],
                    predicted=self.classes[int(predicted[i])], explained_class=self.classes[int(cams.targets[i])],
                    confidence=float(probabilities[i, predicted[i]]), correct=bool(predicted[i] == target),
                    has_mask=masks[i] is not None, own_background=own[position] if own is not None else None,
                    pointing_hit=mask_scores[i].pointing_hit, energy_inside=mask_scores[i].energy_inside,
                    background_reliance=mask_scores[i].background_reliance,
                    road_combined=float(road[i]) if road is not None else None, confidence_drop=float(drops[i]),
                    raw_key=raw_key, raw_index=i, input_key=keys["input"], heatmap_key=keys["heatmap"],
                    overlay_key=keys["overlay"],
                )
            )  # fmt: skip
        return rows

    def finish(self, total: int) -> dict[str, Any]:
        self.run.summary = explanation_scores_summary(self.run)
        self.run.summary["masks"] = self.masks.describe() if self.masks else None  # "estimated" marks the scores
        self.run.finished_at = timezone.now()
        self.run.save(update_fields=["summary", "finished_at"])
        overall = self.run.summary["overall"]
        return {
            "explanation_run": self.run.pk,
            "samples": total,
            "method": self.run.method,
            "target_layer": self.run.target_layer,
            "background_reliance": overall["background_reliance"],
            "pointing_game": overall["pointing_game"],
            "road_combined": overall["road_combined"],
            "masks": self.masks.provider if self.masks else None,
            "masks_estimated": self.masks.estimated if self.masks else None,
        }


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def explanation_run_execute(run: ExplanationRun, ctx: JobContext) -> dict[str, Any]:
    """The `explain` job's body: the class check first, then every batch of the run (done ones skipped)."""
    try:
        evaluation_classes_check(version=run.version, split=run.split, classes=run.model_classes)
    except ApplicationError as error:
        raise JobFailed(error.message)
    return _Execution(run, ctx).execute()


def explanation_rows_delete(run: ExplanationRun) -> None:
    """After a failure or cancel (the kit's cleanup, before it deletes the run's files): its sample rows."""
    SampleExplanation.objects.filter(run=run).delete()


def explanation_run_files(run_id: int) -> list[str]:
    """Every file stored under the run's folder, sorted."""
    return storage_keys(f"{RUNS_PREFIX}/{run_id}")
