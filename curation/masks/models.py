"""Foreground masks of a dataset version by one mask provider (curation.ml.masks), stored per sample.

A MaskSet is the (version, provider) pair: one per pair, filled by an `estimate_masks` job, batch by
batch of sample ids (progress in `done`). Each EstimatedMask points at an 8-bit PNG in storage (0
background, 255 object) at the image's own size, or at nothing when the provider had no mask for it.
`quality` holds the median IoU against the dataset's own masks when the version has them (the demo):
it is what every report computed on these masks quotes for the provider.
"""

from django.conf import settings
from django.db import models


class MaskSetStatus(models.TextChoices):
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class MaskSet(models.Model):
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.CASCADE, related_name="mask_sets")
    provider = models.CharField(max_length=500, help_text="Registry name, e.g. estimated or clipseg:<weights>.")
    provider_spec = models.JSONField(default=dict, blank=True, help_text="MaskProviderSpec.to_dict() of the run.")
    status = models.CharField(max_length=16, choices=MaskSetStatus.choices, default=MaskSetStatus.RUNNING)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    planned = models.PositiveIntegerField(default=0, help_text="Members of the version.")
    done = models.PositiveIntegerField(default=0, help_text="Members processed so far.")
    with_mask = models.PositiveIntegerField(default=0, help_text="Members the provider gave a mask.")
    quality = models.JSONField(
        null=True, blank=True, help_text="IoU against the dataset's own masks: median, mean, compared, measured_on."
    )
    seconds = models.FloatField(default=0.0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["version", "provider"], name="unique_mask_set_per_provider")]

    def __str__(self) -> str:
        return f"MaskSet {self.pk} v{self.version_id} {self.provider} ({self.status})"


class EstimatedMask(models.Model):
    mask_set = models.ForeignKey(MaskSet, on_delete=models.CASCADE, related_name="masks")
    sample = models.ForeignKey("curation.Sample", on_delete=models.CASCADE, related_name="+")
    mask_key = models.CharField(max_length=300, blank=True, help_text="PNG in storage; blank: no mask.")
    foreground = models.FloatField(null=True, blank=True, help_text="Share of the image's pixels in the mask.")

    class Meta:
        ordering = ["mask_set", "sample"]
        constraints = [models.UniqueConstraint(fields=["mask_set", "sample"], name="unique_mask_per_sample")]

    def __str__(self) -> str:
        return f"mask of sample {self.sample_id} in set {self.mask_set_id}"
