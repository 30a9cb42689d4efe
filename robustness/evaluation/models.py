"""Evaluation runs: one trained model measured on one dataset version (docs/ARCHITECTURE.md §4, §7).

A run records what was asked (suites, parameters, the baseline run that normalises mCE) and
what came out: `results` holds one JSON object per suite ("clean", "corruptions",
"adversarial", "attributes"), `examples` the storage keys of example images by name. Its status
is its job's status. The trained model and the version are PROTECTed: a report must keep saying
what it measured, so a model or version with reports cannot be deleted under them.
"""

from django.db import models

from jobs.runs.models import ModelRun


class Suite(models.TextChoices):
    CLEAN = "clean"
    CORRUPTIONS = "corruptions"
    ADVERSARIAL = "adversarial"
    ATTRIBUTES = "attributes"


class EvaluationRun(ModelRun):
    STORAGE_PREFIX = "evaluation/runs"  # example images: <prefix>/<run id>/<name>.png
    RESULT_FIELDS = ("results", "examples")

    trained_model = models.ForeignKey(
        "robustness.TrainedModel", on_delete=models.PROTECT, related_name="evaluation_runs"
    )
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="evaluation_runs")
    suites = models.JSONField(default=list, help_text="Suites to run, in order (clean always runs).")
    baseline = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="normalised_runs",
        help_text="The run whose corruption errors normalise this run's CE and mCE.",
    )
    split = models.CharField(max_length=16, blank=True, help_text="The split evaluated ('all' for every member).")
    sample_count = models.PositiveIntegerField(default=0, help_text="Members evaluated.")
    results = models.JSONField(default=dict, blank=True, help_text="One object per finished suite.")
    examples = models.JSONField(default=dict, blank=True, help_text="Example image keys by name.")
    prediction_count = models.PositiveIntegerField(
        default=0, help_text="SamplePrediction rows of the clean pass (0: none stored, e.g. an older run)."
    )

    def __str__(self) -> str:
        return f"Evaluation {self.pk}: {self.trained_model_id} on v{self.version_id}"


class SamplePrediction(models.Model):
    """The clean pass's prediction for one evaluated sample: the grid's prediction and model-error filters
    and its sort by confidence walk (run, predicted | correct | confidence, sample) as keyset pages."""

    # Written by COPY when the clean pass ends (its run's cleanup removes them after a failure); the links
    # are unchecked as for PruneDecision: the run's version PROTECTs the samples.
    evaluation_run = models.ForeignKey(
        EvaluationRun, on_delete=models.CASCADE, related_name="predictions", db_index=False, db_constraint=False
    )
    sample = models.ForeignKey(
        "curation.Sample", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    predicted = models.PositiveSmallIntegerField(help_text="Index of the predicted class in the model's classes.")
    confidence = models.FloatField(help_text="The predicted class's probability.")
    correct = models.BooleanField(help_text="The prediction equals the sample's primary label in the version.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evaluation_run", "sample"], name="unique_sample_prediction")]
        indexes = [
            models.Index(fields=["evaluation_run", "predicted", "sample"], name="prediction_class"),
            models.Index(fields=["evaluation_run", "correct", "sample"], name="prediction_correct"),
            models.Index(fields=["evaluation_run", "confidence", "sample"], name="prediction_confidence"),
        ]

    def __str__(self) -> str:
        return f"sample {self.sample_id}: class {self.predicted} ({self.confidence:.3f}), run {self.evaluation_run_id}"
