"""Failure-slice reports: coherent groups of held-out samples on which one trained model does much worse than on
their class, found without masks or captions; and their re-scoring under other models (the compare view).

A report records what was asked (`params`, defaults filled in, the split, the embeddings used) and what
came out: `results` holds the class accuracies and the ranked slices, each with its members (sample ids,
most typical first), accuracy and Wilson interval. A SliceScore is one other model's accuracy on the same
slices. Each one's status is its job's status. Models and versions are PROTECTed: a report must keep
saying what it measured.
"""

from django.db import models

from jobs.runs.models import JobRun, ModelRun


class SliceReport(ModelRun):
    trained_model = models.ForeignKey("robustness.TrainedModel", on_delete=models.PROTECT, related_name="slice_reports")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="slice_reports")
    split = models.CharField(
        max_length=16, blank=True, help_text="The held-out split searched ('all' for every member)."
    )
    embedding_set = models.ForeignKey(
        "embeddings.EmbeddingSet", null=True, blank=True, on_delete=models.SET_NULL, related_name="slice_reports",
        help_text="Encoder embeddings clustered; empty: the model's own penultimate features.",
    )  # fmt: skip
    sample_count = models.PositiveIntegerField(default=0, help_text="Labelled members of the split (capped).")
    results = models.JSONField(default=dict, blank=True, help_text="Class accuracies and ranked slices.")

    def __str__(self) -> str:
        return f"Failure-slice report {self.pk}: {self.trained_model_id} on v{self.version_id}"


class SliceScore(JobRun):
    """The accuracy of another trained model on a report's slices (e.g. the model retrained after a fix)."""

    report = models.ForeignKey(SliceReport, on_delete=models.CASCADE, related_name="scores")
    trained_model = models.ForeignKey("robustness.TrainedModel", on_delete=models.PROTECT, related_name="slice_scores")
    results = models.JSONField(default=dict, blank=True, help_text="Accuracy per class and per slice.")

    def __str__(self) -> str:
        return f"Slice score {self.pk}: model {self.trained_model_id} on report {self.report_id}"
