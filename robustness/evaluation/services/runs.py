"""Evaluation runs: the `evaluate` job (runs the suites); services/start.py creates runs.

The fast checks run in services/start.py before any job exists (the API answers 400). The job
repeats the class check first thing (a run created some other way still fails within seconds, with
the reason), then decodes the images once and runs each suite, saving its results as soon as it ends
and reporting progress after every corrupted set, ε and edit (which is where a cancel takes effect).
A failed or cancelled run keeps its row and its job's reason; its partial results and example images
are removed by the run kit's cleanup (jobs.runs). Cached corrupted sets stay: each file is complete and reusable.
"""

import math
from typing import Any

import numpy as np
from django.utils import timezone

from core.api_errors import ApplicationError
from jobs.runtime import JobContext, JobFailed
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.evaluation.services.adversarial import adversarial_params, adversarial_results
from robustness.evaluation.services.attributes import attribute_results
from robustness.evaluation.services.backgrounds import background_bank_for
from robustness.evaluation.services.clean import clean_results
from robustness.evaluation.services.corruptions import corruption_results
from robustness.evaluation.services.dataset import EvaluationSet, evaluation_classes_check, evaluation_set_load
from robustness.evaluation.services.groups import group_set_results, group_sets_resolve
from robustness.evaluation.services.inference import ExampleWriter, predict_probabilities
from robustness.evaluation.services.masks import mask_source_resolve
from robustness.evaluation.services.predictions import predictions_write
from robustness.evaluation.services.start import EVALUATE_JOB_KIND, evaluation_run_create  # noqa: F401  (re-exported)
from robustness.ml.checkpoints import CheckpointInvalid
from robustness.ml.devices import device_describe, device_resolve
from robustness.ml.models import WeightsUnavailable
from robustness.services import load_trained_model


def json_safe(value: Any) -> Any:
    """NaN and infinities become None and NumPy scalars Python numbers, so PostgreSQL's jsonb accepts them."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Execution:
    """One attempt of a run's job: the loaded model and set, progress steps, and results saved per suite."""

    def __init__(self, run: EvaluationRun, ctx: JobContext):
        self.run, self.ctx, self.params = run, ctx, run.params
        self.examples = ExampleWriter(run.pk)
        self.done, self.total = 0, 1

    def step(self, message: str) -> None:
        self.done += 1
        self.ctx.progress(self.done, self.total, message)

    def save(self, suite: str, result: dict[str, Any]) -> None:
        self.run.results = {**self.run.results, suite: json_safe(result)}
        self.run.examples = dict(self.examples.keys)
        self.run.save(update_fields=["results", "examples"])

    def load(self) -> EvaluationSet:
        try:
            model, classes, preprocessing = load_trained_model(self.run.trained_model)
        except (CheckpointInvalid, WeightsUnavailable, FileNotFoundError) as error:
            raise JobFailed(f"cannot load model {self.run.trained_model.name!r}: {error}")
        _classes_or_fail(self.run, classes)
        try:
            self.device = device_resolve(self.params["device"])
        except ValueError as error:
            raise JobFailed(str(error))
        self.model = model.to(self.device).eval()
        self.ctx.log(
            f"model {self.run.trained_model.name} ({self.run.trained_model.arch}) on {device_describe(self.device)}"
        )
        evaluation_set = evaluation_set_load(
            version=self.run.version,
            split=self.run.split,
            classes=classes,
            preprocessing=preprocessing,
            max_samples=self.params["max_samples"],
            seed=self.params["seed"],
            progress=lambda done, total: self.ctx.progress(0, 1, f"decoding images: {done} of {total}"),
            include_synthetic=self.params.get("include_synthetic", False),
        )
        self.ctx.log(f"{len(evaluation_set)} samples of split {self.run.split} at {preprocessing.img_size} px")
        if evaluation_set.synthetic_excluded:
            self.ctx.log(f"{evaluation_set.synthetic_excluded} synthetic samples left out (include_synthetic false)")
        return evaluation_set

    def predict(self, images: np.ndarray) -> np.ndarray:
        return predict_probabilities(
            self.model,
            images,
            device=self.device,
            batch_size=self.params["batch_size"],
            on_batch=self.ctx.check_cancelled,
        )

    def count_steps(self, evaluation_set: EvaluationSet) -> None:
        p, suites = self.params, self.run.suites
        self.total = 1
        if Suite.CORRUPTIONS in suites:
            self.total += len(p["corruptions"]) * len(p["severities"])
        if Suite.ADVERSARIAL in suites:
            settings = adversarial_params(evaluation_set.images.shape[1], p)
            self.total += len(settings["attacks"]) * len(settings["eps"]) + ("pgd" in settings["attacks"])
        if Suite.ATTRIBUTES in suites:
            self.total += len(p["edits"])

    def execute(self) -> dict[str, Any]:
        try:  # the sample groups (failure slices) as they are now: a report deleted since the start fails the run
            self.group_sets = group_sets_resolve(version=self.run.version, params=self.params)
        except ApplicationError as error:
            raise JobFailed(error.message)
        evaluation_set = self.load()
        self.count_steps(evaluation_set)
        probabilities = self.predict(evaluation_set.images)
        clean = clean_results(evaluation_set, probabilities, ece_bins=self.params["ece_bins"])
        if self.group_sets:
            correct = probabilities.argmax(axis=1) == evaluation_set.targets
            clean["sample_groups"] = group_set_results(self.group_sets, evaluation_set.sample_ids, correct)
        self.save(Suite.CLEAN, clean)
        # The clean pass's per-sample predictions, for the sample grid; a failed run's cleanup removes them.
        predictions_write(self.run, evaluation_set, probabilities)
        self.step(f"clean top-1 {clean['top1']:.3f}")
        predictions = probabilities.argmax(axis=1)
        if Suite.CORRUPTIONS in self.run.suites:
            self.save(Suite.CORRUPTIONS, self.corruptions(evaluation_set, clean["top1"]))
        if Suite.ADVERSARIAL in self.run.suites:
            self.save(Suite.ADVERSARIAL, self.adversarial(evaluation_set, predictions))
        if Suite.ATTRIBUTES in self.run.suites:
            self.save(Suite.ATTRIBUTES, self.attributes(evaluation_set, predictions))
        self.run.finished_at = timezone.now()
        self.run.save(update_fields=["finished_at"])
        summary = {"evaluation_run": self.run.pk, "samples": len(evaluation_set), "suites": self.run.suites}
        return {**summary, "top1": clean["top1"]}

    def corruptions(self, evaluation_set: EvaluationSet, clean_accuracy: float) -> dict[str, Any]:
        p = self.params
        return corruption_results(
            evaluation_set, version_id=self.run.version_id, corruptions=p["corruptions"], severities=p["severities"],
            seed=p["seed"], predict=self.predict, examples=self.examples, clean_accuracy=clean_accuracy,
            step=self.step,
        )  # fmt: skip

    def adversarial(self, evaluation_set: EvaluationSet, predictions: np.ndarray) -> dict[str, Any]:
        p = self.params
        subset = evaluation_set.subset(p["adversarial_max_samples"], seed=p["seed"])
        return adversarial_results(
            self.model, subset, clean_correct=predictions[subset.positions] == subset.targets,
            settings=adversarial_params(subset.images.shape[1], p), seed=p["seed"], device=self.device,
            batch_size=p["batch_size"], examples=self.examples, step=self.step,
        )  # fmt: skip

    def attributes(self, evaluation_set: EvaluationSet, predictions: np.ndarray) -> dict[str, Any]:
        p = self.params
        bank = background_bank_for(evaluation_set, p["background_source"])
        try:
            masks = mask_source_resolve(
                version=self.run.version, split=self.run.split, requested=p.get("masks", "auto"),
                purpose=" (attribute edits need them)",
            )  # fmt: skip
        except ApplicationError as error:
            raise JobFailed(error.message)
        assert masks is not None  # required: resolve raises instead
        return attribute_results(
            evaluation_set, edits=p["edits"], predict=self.predict, original_predictions=predictions, bank=bank,
            seed=p["seed"], examples=self.examples, step=self.step, masks=masks,
        )  # fmt: skip


def _classes_or_fail(run: EvaluationRun, classes: list[str]) -> None:
    try:
        evaluation_classes_check(version=run.version, split=run.split, classes=classes)
    except ApplicationError as error:
        raise JobFailed(error.message)


def evaluation_run_execute(run: EvaluationRun, ctx: JobContext) -> dict[str, Any]:
    """The `evaluate` job's body: the class check first, then each suite of the run in order."""
    _classes_or_fail(run, run.trained_model.classes)
    run.results, run.examples = {}, {}  # a retried attempt starts over
    return _Execution(run, ctx).execute()
