# Over 300 lines: one run-kit plug-in: the request checks and the find_spurious job share the report's features and
# storage layout.
"""Spurious-feature reports: check a request (the run kit creates the report and its `find_spurious` job), run it.

The checks that can fail fast do so before any job exists (the API answers 400): unknown or bad
parameters, a split without labelled samples, a model whose classes cannot cover the version's
labels (`classes_mismatch`), a split where no sample has a mask and no masks were estimated for the
version (`no_masks`). The job repeats the class check first thing, decodes the split once at the model's
input size, predicts it, runs the flip test in batches of images (progress after each batch, which is
where a cancel takes effect), then the background pull, one background at a time, and stores example
edits. A failed or cancelled report keeps its row and its job's reason; its partial results and example
images are removed by the run kit's cleanup (jobs.runs).
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from django.contrib.auth.models import User
from django.utils import timezone

from core.api_errors import ApplicationError
from core.storage import blob_delete, blob_save
from curation.models import DatasetVersion
from explain.spurious.ml.flip_test import NULL, EditRecord, FlipTestRun, FlipTestSettings, edit_render, flip_test_run
from explain.spurious.ml.pull import PullSettings, background_pull
from explain.spurious.ml.ranking import class_rankings
from explain.spurious.models import SpuriousReport
from explain.spurious.services.features import FeatureSetup, feature_setup
from explain.spurious.services.params import spurious_params_validate, spurious_split_resolve
from jobs.runs.services import run_create
from jobs.runtime import JobContext, JobFailed
from robustness.evaluation.services.dataset import EvaluationSet, evaluation_classes_check, evaluation_set_load
from robustness.evaluation.services.masks import mask_source_resolve
from robustness.ml.metrics import group_accuracy
from robustness.models import TrainedModel

FIND_SPURIOUS_JOB_KIND = "find_spurious"
EXAMPLES_PREFIX = SpuriousReport.STORAGE_PREFIX
LEFT_OUT_LISTED = 200
HEADLINE_FEATURE_KEYS = (
    "kind", "value", "flip_rate", "null_flip_rate", "support", "flips_above_null", "directed_share", "directed_chance",
    "suspected",
)  # fmt: skip


def spurious_report_create(
    *,
    trained_model: TrainedModel,
    version: DatasetVersion,
    params: dict[str, Any] | None = None,
    requested_by: User | None,
    enqueue: bool = True,
) -> SpuriousReport:
    """Check the request, create the report and its `find_spurious` job (gpu queue), and send it once committed.

    Args:
        trained_model: the classifier to probe.
        version: the dataset version whose images are edited (its train split by default).
        params: overrides of the defaults in services/params.py (split, max_samples, seed, swaps_per_image,
            min_support, pull, pull_max_samples, batch_size, device, example_features, examples_per_feature,
            masks: "auto", "dataset" or a provider whose masks were stored by estimate_masks).
        requested_by: needs the run_gpu_jobs capability (admins); None for system reports.
        enqueue: False creates the job without sending it (the command runs it in-process).
    Raises ApplicationError: invalid_params, classes_mismatch, empty_split, no_masks (400), permission_denied (403).
    """
    report = run_create(
        kind=FIND_SPURIOUS_JOB_KIND, requested_by=requested_by, enqueue=enqueue, trained_model=trained_model,
        version=version, params=params,
    )  # fmt: skip
    return cast(SpuriousReport, report)


def spurious_report_prepare(
    *, trained_model: TrainedModel, version: DatasetVersion, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The checks of `spurious_report_create`, before any job exists; returns the report's fields (the kit's
    `prepare`)."""
    params = spurious_params_validate(params or {})
    params["split"] = spurious_split_resolve(version=version, split=params["split"])
    count = evaluation_classes_check(version=version, split=params["split"], classes=trained_model.classes)
    source = mask_source_resolve(
        version=version, split=params["split"], requested=params["masks"],
        purpose=" (the flip test swaps backgrounds and removes objects with masks)",
    )  # fmt: skip
    assert source is not None  # required: resolve raises instead
    params["masks"] = source.provider
    return {
        "trained_model": trained_model, "version": version, "split": params["split"], "params": params,
        "sample_count": min(count, params["max_samples"] or count),
    }  # fmt: skip


def example_key(report_id: int, name: str) -> str:
    return f"{EXAMPLES_PREFIX}/{report_id}/{name}.png"


class _Execution:
    """One attempt of a report's job: the model, the set, progress over the flip test and the pull."""

    def __init__(self, report: SpuriousReport, ctx: JobContext):
        self.report, self.ctx, self.params = report, ctx, report.params
        self.examples: dict[str, str] = {}

    def load(self) -> EvaluationSet:
        # torch: only the job loads a model; the API and pages import this module without it
        from robustness.ml.checkpoints import CheckpointInvalid  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.ml.devices import device_describe, device_resolve  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.ml.models import WeightsUnavailable  # noqa: PLC0415 - torch: loaded by the job, not at start-up
        from robustness.services import load_trained_model  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        try:
            model, classes, preprocessing = load_trained_model(self.report.trained_model)
        except (CheckpointInvalid, WeightsUnavailable, FileNotFoundError) as error:
            raise JobFailed(f"cannot load model {self.report.trained_model.name!r}: {error}")
        _classes_or_fail(self.report, classes)
        try:
            self.device = device_resolve(self.params["device"])
        except ValueError as error:
            raise JobFailed(str(error))
        self.model = model.to(self.device).eval()
        self.ctx.log(f"model {self.report.trained_model.name} on {device_describe(self.device)}")
        return evaluation_set_load(
            version=self.report.version, split=self.report.split, classes=classes, preprocessing=preprocessing,
            max_samples=self.params["max_samples"], seed=self.params["seed"],
            progress=lambda done, total: self.ctx.progress(0, 1, f"decoding images: {done} of {total}"),
        )  # fmt: skip

    def classify(self, images: np.ndarray) -> np.ndarray:
        from robustness.evaluation.services.inference import predict_probabilities  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        probabilities = predict_probabilities(
            self.model, images, device=self.device, batch_size=self.params["batch_size"],
            on_batch=self.ctx.check_cancelled,
        )  # fmt: skip
        return probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=np.int64)

    def progress(self, phase: str, offset: int, total: int) -> Callable[[int, int], None]:
        return lambda done, count: self.ctx.progress(offset + done, total, f"{phase}: {done} of {count}")

    def execute(self) -> dict[str, Any]:
        from robustness.evaluation.services.runs import json_safe  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        evaluation_set = self.load()
        predictions = self.classify(evaluation_set.images)
        try:
            masks = mask_source_resolve(
                version=self.report.version, split=self.report.split, requested=self.params.get("masks", "auto")
            )
        except ApplicationError as error:
            raise JobFailed(error.message)
        assert masks is not None  # required: resolve raises instead
        setup = feature_setup(evaluation_set, self.report.version, masks)
        if len(setup.data) == 0:
            raise JobFailed(
                f"none of the {len(evaluation_set)} samples has a usable object mask at the model's input size"
            )
        p = self.params
        settings = FlipTestSettings(
            swaps_per_image=p["swaps_per_image"], min_support=p["min_support"], seed=p["seed"],
            batch_images=max(1, p["batch_size"] // (2 + p["swaps_per_image"])),
        )  # fmt: skip
        do_pull = p["pull"] and setup.pull_possible
        pull_steps = len(set(setup.bank.values)) if do_pull else 0
        total = len(setup.data) + pull_steps + 1
        run = flip_test_run(
            setup.data, setup.bank, self.classify, original_predictions=predictions[setup.positions],
            settings=settings, progress=self.progress("flip test, images", 0, total),
        )  # fmt: skip
        ranked = class_rankings(run, setup.data, evaluation_set.classes, settings, bank=setup.bank)
        rankings = {name: r.as_dict() for name, r in ranked.items()}
        pull = None
        if do_pull:
            pull = background_pull(
                setup.data, setup.bank, self.classify, classes=evaluation_set.classes,
                settings=PullSettings(max_images=p["pull_max_samples"], seed=p["seed"], batch_images=p["batch_size"]),
                progress=self.progress("background pull, backgrounds", len(setup.data), total),
            )  # fmt: skip
        self.store_examples(setup, run, rankings, evaluation_set.classes)
        results = _results(evaluation_set, predictions, setup, run, rankings, pull, p["min_support"])
        results = {"masks": masks.describe(), **results}
        self.report.results, self.report.examples = json_safe(results), self.examples
        self.report.finished_at = timezone.now()
        self.report.save(update_fields=["results", "examples", "finished_at"])
        self.ctx.progress(total, total, "report stored")
        return {"spurious_report": self.report.pk, **report_headline(self.report.results)}

    def save_example(self, name: str, image: np.ndarray) -> str:
        key = example_key(self.report.pk, name)
        from robustness.evaluation.services.inference import png_bytes  # noqa: PLC0415 - torch: loaded by the job, not at start-up

        blob_delete(key)  # a retried attempt rewrites its examples
        blob_save(key=key, data=png_bytes(image))
        self.examples[name] = key
        return name

    def store_examples(
        self, setup: FeatureSetup, run: FlipTestRun, rankings: dict[str, Any], classes: list[str]
    ) -> None:
        """Original and edited images of each class's top features (flipped edits first), and one null edit."""
        p = self.params
        by_feature: dict[tuple[int, str, str], list[EditRecord]] = defaultdict(list)
        for record in run.records:
            by_feature[(int(setup.data.labels[record.position]), record.kind, record.feature)].append(record)
        for name, ranking in rankings.items():
            c = classes.index(name)
            for f, feature in enumerate(ranking["ranked"][: p["example_features"]]):
                chosen = _example_records(by_feature[(c, feature["kind"], feature["value"])], p["examples_per_feature"])
                feature["examples"] = [
                    self.example(setup, record, f"{c}/{f}/{n}", classes) for n, record in enumerate(chosen)
                ]
            nulls = _example_records(by_feature[(c, NULL, "")], 1)
            ranking["null_examples"] = [self.example(setup, r, f"{c}/null/{n}", classes) for n, r in enumerate(nulls)]

    def example(self, setup: FeatureSetup, record: EditRecord, name: str, classes: list[str]) -> dict[str, Any]:
        original = self.save_example(f"{name}/original", setup.data.images[record.position])
        edited = self.save_example(f"{name}/edited", edit_render(setup.data, setup.bank, record))
        before = classes[int(setup.data.labels[record.position])]  # only correctly classified images take part
        swapped_to = setup.bank.values[record.bank_index] if record.bank_index >= 0 else None
        described = setup.descriptions.get(swapped_to or "")
        return {
            "original": original, "edited": edited, "sample_id": int(setup.data.image_ids[record.position]),
            "edit": record.kind, "swapped_to": swapped_to, "swapped_to_description": described,
            "prediction_before": before, "prediction_after": classes[record.prediction], "flipped": record.flipped,
        }  # fmt: skip


def _example_records(records: list[EditRecord], count: int) -> list[EditRecord]:
    """Up to `count` records of distinct images, flipped ones first (a feature's examples should show the flip)."""
    chosen: dict[int, EditRecord] = {}
    for record in sorted(records, key=lambda r: (not r.flipped, r.position)):
        if record.position not in chosen and len(chosen) < count:
            chosen[record.position] = record
    return list(chosen.values())


def _groups(evaluation_set: EvaluationSet, predictions: np.ndarray, setup: FeatureSetup, min_count: int) -> Any:
    if setup.groups is None or all(g is None for g in setup.groups):
        return None
    result = group_accuracy(predictions == evaluation_set.targets, setup.groups, min_count=min_count)
    return {
        "source": setup.source, "min_count": min_count, "groups": result.groups, "worst_group": result.worst_group,
        "worst_accuracy": result.worst_accuracy, "mean_accuracy": result.mean_accuracy, "gap": result.gap,
    }  # fmt: skip


def _results(
    evaluation_set: EvaluationSet,
    predictions: np.ndarray,
    setup: FeatureSetup,
    run: FlipTestRun,
    rankings: dict[str, Any],
    pull: dict[str, Any] | None,
    min_support: int,
) -> dict[str, Any]:
    nulls = [r.flipped for r in run.records if r.kind == NULL]
    reasons: dict[str, int] = defaultdict(int)
    for entry in setup.left_out:
        reasons[entry["reason"]] += 1
    return {
        "classes": evaluation_set.classes,
        "samples": len(evaluation_set),
        "unlabeled_skipped": evaluation_set.unlabeled_skipped,
        "accuracy": float((predictions == evaluation_set.targets).mean()),
        "with_masks": len(setup.data),
        "taking_part": len(run.taking_part),
        "left_out": {
            "count": len(setup.left_out),
            "reasons": dict(reasons),
            "samples": setup.left_out[:LEFT_OUT_LISTED],
        },
        "feature_source": setup.source,
        "objects": setup.objects,
        "background_bank": {
            "source": setup.bank_source,
            "values": sorted(set(setup.bank.values)) if setup.pull_possible else [],
            "descriptions": setup.descriptions,
        },
        "class_backgrounds": setup.class_backgrounds,
        "null_flip_rate": float(np.mean(nulls)) if nulls else None,
        "min_support": min_support,
        "rankings": rankings,
        "pull": pull,
        "groups": _groups(evaluation_set, predictions, setup, min_support),
    }


def report_headline(results: dict[str, Any]) -> dict[str, Any]:
    """The numbers a command prints: counts, null flip rate, worst group and each class's top feature (its flip rate,
    its share of flips toward the swapped-in background's class against chance, suspected or not)."""
    top = {
        name: ({k: r["ranked"][0].get(k) for k in HEADLINE_FEATURE_KEYS} if r["ranked"] else None)
        for name, r in (results.get("rankings") or {}).items()
    }
    groups = results.get("groups") or {}
    return {
        "samples": results.get("samples"), "with_masks": results.get("with_masks"),
        "left_out": (results.get("left_out") or {}).get("count"), "null_flip_rate": results.get("null_flip_rate"),
        "worst_group": groups.get("worst_group"), "worst_group_accuracy": groups.get("worst_accuracy"),
        "mean_accuracy": results.get("accuracy"), "top_features": top,
    }  # fmt: skip


def _classes_or_fail(report: SpuriousReport, classes: list[str]) -> None:
    try:
        evaluation_classes_check(version=report.version, split=report.split, classes=classes)
    except ApplicationError as error:
        raise JobFailed(error.message)


def spurious_report_execute(report: SpuriousReport, ctx: JobContext) -> dict[str, Any]:
    """The `find_spurious` job's body: the class check first, then the flip test, the pull and the examples."""
    _classes_or_fail(report, report.trained_model.classes)
    report.results, report.examples = {}, {}  # a retried attempt starts over
    return _Execution(report, ctx).execute()
