"""Spurious-feature reports (docs/METHODS.md §9): one trained model probed by the counterfactual flip test on one
version.

A report records what was asked (`params`, defaults filled in, and the split) and what came out:
`results` holds the per-class rankings of features by flip rate over the null-edit control, the
background pull, group accuracies and what was left out and why; `examples` the storage keys of the
example edit images by name. Its status is its job's status. The trained model and the version are
PROTECTed: a report must keep saying what it measured.
"""

from django.db import models

from jobs.runs.models import ModelRun


class SpuriousReport(ModelRun):
    STORAGE_PREFIX = "spurious/reports"  # example edits: <prefix>/<report id>/<name>.png
    RESULT_FIELDS = ("results", "examples")

    trained_model = models.ForeignKey(
        "robustness.TrainedModel", on_delete=models.PROTECT, related_name="spurious_reports"
    )
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="spurious_reports")
    split = models.CharField(max_length=16, blank=True, help_text="The split probed ('all' for every member).")
    sample_count = models.PositiveIntegerField(default=0, help_text="Labelled members of the split (capped).")
    results = models.JSONField(default=dict, blank=True, help_text="Rankings, pull, groups, coverage.")
    examples = models.JSONField(default=dict, blank=True, help_text="Example image keys by name.")

    def __str__(self) -> str:
        return f"Spurious-feature report {self.pk}: {self.trained_model_id} on v{self.version_id}"
