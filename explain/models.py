"""Explanation runs: Grad-CAM maps of one trained model over one dataset version, and their scores.

An ExplanationRun records what was asked (method, target layer, which samples, parameters) and a
summary of what came out; one SampleExplanation per explained sample holds its prediction, the
mask and faithfulness scores, and the storage keys of its maps (the unscaled map in a per-batch
``.npz``, and PNGs: the model's input, the heatmap, the overlay). Its status is its job's status.

on_delete of the trained model: SET_NULL, with a snapshot of what the maps were computed with
(name, architecture, classes, input size, training version). Evaluation runs PROTECT their model
because a report without its model cannot say what it measured; an explanation keeps saying it
through the snapshot, and its maps and scores stay evidence (e.g. for a spurious-feature report)
after a model is retired. Protecting would make every model that was ever explained undeletable
until hundreds of map files are removed first; cascading would delete that evidence and leave its
files behind. Pages and the API show "model deleted" and disable what needs the weights. The dataset
version and the samples are PROTECTed, as for evaluation runs.
"""

from django.db import models

from jobs.runs.models import ModelRun


class CamMethod(models.TextChoices):
    GRADCAM = "gradcam", "Grad-CAM"
    GRADCAM_PLUSPLUS = "gradcam++", "Grad-CAM++"
    EIGENCAM = "eigencam", "EigenCAM"


class ExplanationRun(ModelRun):
    STORAGE_PREFIX = "explain/runs"  # raw maps and pictures: <prefix>/<run id>/...
    RESULT_FIELDS = ("summary",)

    trained_model = models.ForeignKey(
        "robustness.TrainedModel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="explanation_runs",
        help_text="Null once the model was deleted; the model_* fields keep what it was.",
    )
    model_name = models.CharField(max_length=200)
    model_arch = models.CharField(max_length=100)
    model_classes = models.JSONField(default=list, help_text="Class names in model output order.")
    model_img_size = models.PositiveIntegerField()
    model_trained_on_id = models.PositiveIntegerField(null=True, blank=True, help_text="DatasetVersion id.")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="explanation_runs")
    method = models.CharField(max_length=20, choices=CamMethod.choices, default=CamMethod.GRADCAM)
    target_layer = models.CharField(max_length=200, help_text="Dotted module path of the explained layer.")
    split = models.CharField(max_length=16, blank=True)
    sample_count = models.PositiveIntegerField(default=0, help_text="Samples to explain.")
    summary = models.JSONField(default=dict, blank=True, help_text="Overall and per-class scores, once finished.")

    def __str__(self) -> str:
        return f"Explanation {self.pk}: {self.model_name} on v{self.version_id} ({self.method})"

    @property
    def model_deleted(self) -> bool:
        return self.trained_model_id is None


class SampleExplanation(models.Model):
    """One explained sample: prediction, scores (None where undefined: no mask, empty map) and map keys."""

    run = models.ForeignKey(ExplanationRun, on_delete=models.CASCADE, related_name="samples")
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=200, help_text="The sample's primary label in the version.")
    predicted = models.CharField(max_length=200)
    explained_class = models.CharField(max_length=200, help_text="The class whose score the map explains.")
    confidence = models.FloatField(help_text="Softmax probability of the predicted class.")
    correct = models.BooleanField()
    has_mask = models.BooleanField()
    own_background = models.BooleanField(null=True, help_text="Demo truth: on its class's own background.")
    pointing_hit = models.BooleanField(null=True)
    energy_inside = models.FloatField(null=True, help_text="Share of the map's energy inside the object mask.")
    background_reliance = models.FloatField(null=True, help_text="1 − energy_inside.")
    road_combined = models.FloatField(null=True)
    confidence_drop = models.FloatField(null=True)
    raw_key = models.CharField(max_length=300, help_text="The batch's .npz of unscaled maps.")
    raw_index = models.PositiveIntegerField(help_text="Row of this sample in that .npz.")
    input_key = models.CharField(max_length=300)
    heatmap_key = models.CharField(max_length=300)
    overlay_key = models.CharField(max_length=300)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "sample"], name="explain_one_row_per_run_sample")]
        indexes = [models.Index(fields=["run", "label", "correct"])]

    def __str__(self) -> str:
        return f"Sample {self.sample_id} in explanation {self.run_id}"
