"""Synthetic batches and images (docs/ARCHITECTURE.md §4; docs/METHODS.md §9).

A SyntheticBatch is a generation plan over one version: the generator and its settings, and a list of
planned images (per class: the mode, prompt, negative prompt, seed, parent sample, background,
strength), fixed before any pixel is made, with the planned items that were skipped and why. Its job
makes one SyntheticImage per planned item, each stored as a Sample of the dataset with source
"synthetic" and the full record in its provenance; the sample joins no version until the batch is
applied. Images wait in review (pending → approved/rejected, by a curator); applying the batch makes a
new version (operation "synthetic") holding the base version's members plus the approved images.
"""

from django.conf import settings
from django.db import models


class GenerationMode(models.TextChoices):
    TEXT2IMG = "text2img", "Text to image (prompts naming the class in other contexts)"
    IMG2IMG = "img2img", "Image to image (variations of real samples)"
    INPAINT = "inpaint", "Background inpainting under the object mask"
    COMPOSITE = "composite", "Object composited onto other backgrounds (offline)"


class PlanSource(models.TextChoices):
    MANUAL = "manual"
    SPURIOUS_REPORT = "spurious_report"
    SLICE_REPORT = "slice_report"


class SyntheticBatch(models.Model):
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="synthetic_batches")
    name = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=16, choices=GenerationMode.choices)
    generator = models.CharField(max_length=500, help_text="Registry name, e.g. diffusers:<id or path>, composite.")
    generator_spec = models.JSONField(default=dict, blank=True, help_text="GeneratorSpec of the run.")
    params = models.JSONField(default=dict, blank=True, help_text="Every setting, defaults included.")
    plan = models.JSONField(default=list, blank=True, help_text="The planned images, in order.")
    skipped = models.JSONField(default=list, blank=True, help_text="Planned items left out, with the reason.")
    plan_source = models.CharField(max_length=32, choices=PlanSource.choices, default=PlanSource.MANUAL)
    spurious_report_id = models.PositiveIntegerField(null=True, blank=True)
    slice_report_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="The failure-slice report whose slice the plan targets."
    )
    slice_number = models.PositiveIntegerField(null=True, blank=True, help_text="That slice's rank number.")
    flags_summary = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    applied_version = models.ForeignKey(
        "curation.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "synthetic batches"

    def __str__(self) -> str:
        return f"SyntheticBatch {self.pk} ({self.mode}, v{self.version_id})"


class ReviewStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SyntheticImage(models.Model):
    batch = models.ForeignKey(SyntheticBatch, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveIntegerField(help_text="Index of the planned item it realises.")
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+")
    intended_class = models.CharField(max_length=200)
    mode = models.CharField(max_length=16, choices=GenerationMode.choices)
    model = models.CharField(max_length=500)
    prompt = models.TextField(blank=True)
    negative_prompt = models.TextField(blank=True)
    seed = models.BigIntegerField()
    steps = models.PositiveIntegerField(null=True, blank=True)
    guidance = models.FloatField(null=True, blank=True)
    strength = models.FloatField(null=True, blank=True)
    parent_sample = models.ForeignKey(
        "curation.Sample", null=True, blank=True, on_delete=models.PROTECT, related_name="synthetic_children"
    )
    background = models.CharField(max_length=300, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    flag = models.JSONField(
        default=dict, blank=True, help_text="Agreement check: source, predicted class, score of the intended class."
    )
    flagged = models.BooleanField(default=False, help_text="The checker disagrees with the intended class.")

    class Meta:
        ordering = ["batch", "position"]
        constraints = [models.UniqueConstraint(fields=["batch", "position"], name="unique_synthetic_position")]
        indexes = [models.Index(fields=["batch", "status", "position"], name="synthetic_batch_status")]

    def __str__(self) -> str:
        return f"SyntheticImage {self.pk} ({self.intended_class}, {self.status})"
