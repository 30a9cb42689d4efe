"""Exports of a dataset version in the formats training pipelines load (docs/ARCHITECTURE.md §8, docs/METHODS.md §10).

An Export row is the request (version, format, options, who, until when) and, once its job has
succeeded, what it produced: the storage keys, sizes and sha256 of its files and the key of its
checksum manifest (`SHA256SUMS`, in `sha256sum -c` format). Its status is its Job's; the files live
under `exports/<id>/` in the storage API, so a failed or cancelled job's cleanup removes that folder.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportFormat(models.TextChoices):
    IMAGEFOLDER_ZIP = "imagefolder-zip", "ImageFolder zip (split/class/file, manifest.jsonl inside)"
    CSV = "csv", "CSV manifest"
    JSONL = "jsonl", "JSONL manifest"
    HF_IMAGEFOLDER = "hf-imagefolder", "Hugging Face imagefolder zip (metadata.jsonl per split)"
    WEBDATASET = "webdataset", "WebDataset tar shards"


class Export(models.Model):
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=32, choices=ExportFormat.choices)
    options = models.JSONField(default=dict, blank=True, help_text="Format options, e.g. shard_size.")
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="export")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="exports"
    )
    files = models.JSONField(
        default=list, blank=True, help_text='Produced files: [{"name", "key", "size", "sha256"}], in order.'
    )
    checksum_key = models.CharField(max_length=300, blank=True, help_text="Storage key of SHA256SUMS.")
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes of the produced files together.")
    sample_count = models.PositiveIntegerField(default=0, help_text="Members written.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="Downloads are refused (410) after this time.")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "id"], name="export_creator_id")]

    def __str__(self) -> str:
        return f"Export {self.pk} of v{self.version_id} ({self.format})"

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else "unknown"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
