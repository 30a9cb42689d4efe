"""The generic report row: one model-run report of any kind that needs no column of its own.

`kind` is its run kind's name (the run kit fills it in and filters by it: KIND_FIELD); `params` every
parameter the job used, defaults filled in; `summary` what the kind's execute function stored (its figures
and tables, JSON). Files, if a kind stores any, go under `reports/<kind>/<id>/`. Models and versions are
PROTECTed, as for the other reports: a report must keep saying what it measured.
"""

from django.db import models

from jobs.runs.models import ModelRun


class ModelReport(ModelRun):
    STORAGE_PREFIX = "reports"
    RESULT_FIELDS = ("summary",)
    KIND_FIELD = "kind"

    kind = models.CharField(max_length=64, help_text="The run kind's name (jobs.runs registry).")
    trained_model = models.ForeignKey("robustness.TrainedModel", on_delete=models.PROTECT, related_name="reports")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="model_reports")
    summary = models.JSONField(default=dict, blank=True, help_text="What the kind's execute function stored.")

    class Meta(ModelRun.Meta):
        indexes = [models.Index(fields=["kind", "-id"], name="model_report_kind_newest")]

    def __str__(self) -> str:
        return f"{self.kind} report {self.pk}: {self.trained_model_id} on v{self.version_id}"

    @property
    def storage_prefix(self) -> str:
        """The folder of this report's files: one per kind (`reports/<kind>/<id>`)."""
        return f"{self.STORAGE_PREFIX}/{self.kind}/{self.pk}"
