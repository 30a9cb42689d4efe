"""Training runs and the models they produce (docs/ARCHITECTURE.md §4).

A TrainingRun is the record of one training job: exactly what it was trained on (data version,
architecture, hyper-parameters, augmentation preset, seed, code version) and what happened per
epoch. Its status is its job's status. A TrainedModel is what a finished run produced: the
classes in output order, the input size and normalization, and the storage keys of its best and
last checkpoints. Checkpoint files live in Django's storage (services/checkpoints.py).
"""

from django.conf import settings
from django.db import models


class TrainingRun(models.Model):
    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="training_run")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="training_runs")
    arch = models.CharField(max_length=100)
    hyperparameters = models.JSONField(default=dict, help_text="epochs, batch_size, lr, img_size, optimizer, ...")
    augmentation = models.CharField(max_length=50, help_text="Name of the augmentation preset.")
    augmentation_spec = models.JSONField(default=dict, help_text="What the preset did, as stored with the run.")
    seed = models.BigIntegerField()
    device = models.CharField(max_length=32, help_text="Requested device: auto, cpu, cuda, cuda:N.")
    device_used = models.CharField(max_length=100, blank=True)
    precision = models.CharField(max_length=16, blank=True, help_text="fp32, bf16 or fp16 (autocast on CUDA).")
    code_version = models.CharField(max_length=100, help_text="git commit hash, else the package version.")
    classes = models.JSONField(default=list, help_text="Class names in model output order.")
    validation = models.CharField(max_length=200, blank=True, help_text="Where the validation set came from.")
    train_count = models.PositiveIntegerField(default=0)
    val_count = models.PositiveIntegerField(default=0)
    epoch_metrics = models.JSONField(default=list, help_text="One object per finished epoch.")
    best_epoch = models.PositiveIntegerField(null=True, blank=True)
    checkpoint_last_key = models.CharField(max_length=300, blank=True)
    checkpoint_best_key = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Training run {self.pk} {self.arch} on v{self.version_id}"

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def epochs(self) -> int:
        return int(self.hyperparameters.get("epochs", 0))


class TrainedModel(models.Model):
    name = models.CharField(max_length=200)
    arch = models.CharField(max_length=100)
    classes = models.JSONField(default=list, help_text="Class names in model output order.")
    img_size = models.PositiveIntegerField()
    normalization = models.JSONField(default=dict, help_text='{"mean": [r, g, b], "std": [r, g, b]}')
    checkpoint_best_key = models.CharField(max_length=300)
    checkpoint_last_key = models.CharField(max_length=300)
    metrics = models.JSONField(default=dict, help_text="Best epoch's validation metrics and the run's summary.")
    trained_on = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="trained_models")
    run = models.OneToOneField(TrainingRun, on_delete=models.PROTECT, related_name="trained_model")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name
