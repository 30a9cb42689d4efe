"""The audit of deletions: one row per request to delete a dataset, a version or a run.

The row is written when the deletion is asked for (who, what, when) and completed by the deletion
job, in the transaction of each batch, with the rows deleted per table and the files removed, so its
counts stay exact when a job is killed and run again, and how the foreign keys of each referenced table were
checked (deletion/integrity.py). It keeps the user's name and the target's
name as text: both outlive what they name.
"""

from django.conf import settings
from django.db import models


class DeletionStatus(models.TextChoices):
    RUNNING = "running"
    DONE = "done"


class Deletion(models.Model):
    target = models.CharField(max_length=64, help_text="dataset, version, or a run kind (e.g. prune_run).")
    target_id = models.BigIntegerField()
    target_name = models.CharField(max_length=500, help_text="What the target was called when deleted.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    requested_by_name = models.CharField(max_length=150, blank=True, help_text="Username, kept if the user goes.")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=DeletionStatus.choices, default=DeletionStatus.RUNNING)
    rows = models.JSONField(default=dict, blank=True, help_text="Rows deleted per model, e.g. {'curation.Sample': 3}.")
    files = models.PositiveIntegerField(default=0, help_text="Blobs and files removed from storage.")
    integrity = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the rows of each table that foreign keys point at were deleted, e.g. {'curation.Sample': "
        "'set_check'}: set_check (one set-based check per batch, the per-row foreign-key triggers skipped) or "
        "triggers (one foreign-key trigger per row: the database role may not set session_replication_role).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["target", "target_id"], name="deletion_target")]

    def __str__(self) -> str:
        return f"{self.target} {self.target_id} ({self.target_name}) by {self.requested_by_name or 'the system'}"
