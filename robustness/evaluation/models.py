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

    def __str__(self) -> str:
        return f"Evaluation {self.pk}: {self.trained_model_id} on v{self.version_id}"
