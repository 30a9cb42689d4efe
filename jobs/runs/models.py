"""The abstract rows of the run kit: work a job does for one row, and the model run that records its parameters.

The fields are those every run family had (same names, types and help texts), so moving them here changed no
column. What a run applies and to what (a trained model, an embedding set, a dataset version) stays on the
concrete model: each family names its relations and their on_delete itself.
"""

from django.conf import settings
from django.db import models


class JobRun(models.Model):
    """A row whose work one job does: who asked, when it finished, and its status, which is its job's.

    `STORAGE_PREFIX`: the storage folder under which a row keeps its files (`<prefix>/<pk>/...`), or ""
    when it stores none; `RESULT_FIELDS`: the JSON fields emptied when its job fails or is cancelled;
    `KIND_FIELD`: on a table several run kinds share, the column that holds the kind's name (the run kit
    fills it in and filters by it), else "".
    """

    STORAGE_PREFIX = ""
    RESULT_FIELDS: tuple[str, ...] = ("results",)
    KIND_FIELD = ""

    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-id"]

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else "unknown"

    @property
    def storage_prefix(self) -> str:
        """The folder of this row's files ("" when its kind stores none)."""
        return f"{self.STORAGE_PREFIX}/{self.pk}" if self.STORAGE_PREFIX else ""


class ModelRun(JobRun):
    """A model (or embedding set) applied to a dataset version, with every parameter the job used."""

    params = models.JSONField(default=dict, help_text="Every parameter, defaults filled in, as the job used them.")

    class Meta(JobRun.Meta):
        abstract = True
