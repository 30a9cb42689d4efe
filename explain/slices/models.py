"""Failure-slice reports: coherent groups of held-out samples on which one trained model does much worse than on
their class, found without masks or captions; and their re-scoring under other models (the compare view).

A report records what was asked (`params`, defaults filled in, the split, the embeddings used) and what
came out: `results` holds the class accuracies and the ranked slices, each with its members (sample ids,
most typical first), accuracy and Wilson interval. A SliceScore is one other model's accuracy on the same
slices. Each one's status is its job's status. Models and versions are PROTECTed: a report must keep
saying what it measured.
"""

from django.conf import settings
from django.db import models


class SliceReport(models.Model):
    trained_model = models.ForeignKey("robustness.TrainedModel", on_delete=models.PROTECT, related_name="slice_reports")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="slice_reports")
    split = models.CharField(
        max_length=16, blank=True, help_text="The held-out split searched ('all' for every member)."
    )
    embedding_set = models.ForeignKey(
        "embeddings.EmbeddingSet", null=True, blank=True, on_delete=models.SET_NULL, related_name="slice_reports",
        help_text="Encoder embeddings clustered; empty: the model's own penultimate features.",
    )  # fmt: skip
    params = models.JSONField(default=dict, help_text="Every parameter, defaults filled in, as the job used them.")
    sample_count = models.PositiveIntegerField(default=0, help_text="Labelled members of the split (capped).")
    results = models.JSONField(default=dict, blank=True, help_text="Class accuracies and ranked slices.")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Failure-slice report {self.pk}: {self.trained_model_id} on v{self.version_id}"

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else "unknown"


class SliceScore(models.Model):
    """The accuracy of another trained model on a report's slices (e.g. the model retrained after a fix)."""

    report = models.ForeignKey(SliceReport, on_delete=models.CASCADE, related_name="scores")
    trained_model = models.ForeignKey("robustness.TrainedModel", on_delete=models.PROTECT, related_name="slice_scores")
    results = models.JSONField(default=dict, blank=True, help_text="Accuracy per class and per slice.")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Slice score {self.pk}: model {self.trained_model_id} on report {self.report_id}"

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else "unknown"
