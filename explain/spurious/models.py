"""Spurious-feature reports (docs/METHODS.md §9): one trained model probed by the counterfactual flip test on one version.

A report records what was asked (`params`, defaults filled in, and the split) and what came out:
`results` holds the per-class rankings of features by flip rate over the null-edit control, the
background pull, group accuracies and what was left out and why; `examples` the storage keys of the
example edit images by name. Its status is its job's status. The trained model and the version are
PROTECTed: a report must keep saying what it measured.
"""

from django.conf import settings
from django.db import models


class SpuriousReport(models.Model):
    trained_model = models.ForeignKey(
        "robustness.TrainedModel", on_delete=models.PROTECT, related_name="spurious_reports"
    )
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="spurious_reports")
    split = models.CharField(max_length=16, blank=True, help_text="The split probed ('all' for every member).")
    params = models.JSONField(default=dict, help_text="Every parameter, defaults filled in, as the job used them.")
    sample_count = models.PositiveIntegerField(default=0, help_text="Labelled members of the split (capped).")
    results = models.JSONField(default=dict, blank=True, help_text="Rankings, pull, groups, coverage.")
    examples = models.JSONField(default=dict, blank=True, help_text="Example image keys by name.")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Spurious-feature report {self.pk}: {self.trained_model_id} on v{self.version_id}"

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else "unknown"
