"""Datasets, immutable versions, samples and per-version labels (docs/ARCHITECTURE.md §4).

A Sample is a file's immutable facts (content hash, storage key, size, provenance, mask,
caption). What a curator changes — membership, split, labels — lives on VersionSample rows,
one per (version, sample); a version never changes after it is created, so pruning and
relabeling make new versions and nothing is deleted. Datasets, versions and runs go only through
the deletion job (curation/deletion), which marks them `deleting` first.
"""

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    classes = models.JSONField(default=list, blank=True, help_text="Class taxonomy, in display order.")
    created_at = models.DateTimeField(auto_now_add=True)
    deleting = models.BooleanField(default=False, help_text="A deletion job is removing it: hidden from lists.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionOperation(models.TextChoices):
    IMPORT = "import"
    DEMO = "demo"
    PRUNE = "prune"
    RELABEL = "relabel"
    SYNTHETIC = "synthetic"
    MANUAL = "manual"


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    operation = models.CharField(max_length=16, choices=VersionOperation.choices)
    operation_params = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    sample_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    deleting = models.BooleanField(default=False, help_text="A deletion job is removing it: hidden from lists.")

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.dataset.name} v{self.number}"


class SampleSource(models.TextChoices):
    REAL = "real"
    SYNTHETIC = "synthetic"


class Sample(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="samples")
    sha256 = models.CharField(max_length=64)
    image_key = models.CharField(max_length=300)
    thumbnail_key = models.CharField(max_length=300)
    mask_key = models.CharField(max_length=300, blank=True)
    original_name = models.CharField(max_length=500, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=16)
    mode = models.CharField(max_length=16)
    file_size = models.PositiveBigIntegerField()
    source = models.CharField(max_length=16, choices=SampleSource.choices, default=SampleSource.REAL)
    caption = models.TextField(blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    import_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "sha256"], name="unique_sample_hash_per_dataset")]
        # The blob collector asks which rows still name a key (curation/services/blob_claims.py): without
        # these, each of its chunks read the whole table, once per 500 keys of a deleted dataset.
        indexes = [
            models.Index(fields=["image_key"], name="sample_image_key"),
            models.Index(fields=["thumbnail_key"], name="sample_thumbnail_key"),
            models.Index(fields=["mask_key"], name="sample_mask_key"),  # mostly "": deduplicated by the btree
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.original_name or self.sha256[:12]}"


class Split(models.TextChoices):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"
    UNASSIGNED = "unassigned"


class LabelOrigin(models.TextChoices):
    IMPORT = "import"
    DEMO = "demo"
    CONSENSUS = "consensus"
    MODEL = "model"
    MANUAL = "manual"


class VersionSample(models.Model):
    """Membership of a sample in a version, with that version's split and labels.

    `labels` is the multi-label set: a list of {"label": str, "origin": LabelOrigin}; the
    primary label is always one of them (when set).
    """

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="members")
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="memberships")
    split = models.CharField(max_length=16, choices=Split.choices, default=Split.UNASSIGNED)
    label = models.CharField(max_length=200, blank=True, help_text="Primary label; blank when unlabeled.")
    label_origin = models.CharField(max_length=16, choices=LabelOrigin.choices, default=LabelOrigin.IMPORT)
    labels = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "sample"]
        constraints = [models.UniqueConstraint(fields=["version", "sample"], name="unique_sample_per_version")]
        indexes = [
            models.Index(fields=["version", "label", "sample"], name="vs_version_label_sample"),
            models.Index(fields=["version", "split", "sample"], name="vs_version_split_sample"),
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} sample {self.sample_id} [{self.label}]"

    @property
    def label_names(self) -> list[str]:
        return [entry["label"] for entry in self.labels]


class SampleAlias(models.Model):
    """Another file name under which identical bytes were imported: exact duplicates are stored once
    and grouped here (a sample with several aliases is an exact-duplicate group)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="aliases")
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="aliases")
    original_name = models.CharField(max_length=500)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["sample", "id"]
        verbose_name_plural = "sample aliases"

    def __str__(self) -> str:
        return self.original_name


class BlobClaim(models.Model):
    """A writer's hold on a sample blob key, from before it stores (or finds) the blob until the row
    that references it is committed: the collector never deletes a claimed key
    (curation/services/blob_claims.py). `job_id` lets a job's cleanup drop what a killed attempt
    still held; it is not a foreign key, so that a claim never blocks or follows a job's deletion."""

    key = models.CharField(max_length=300, db_index=True)
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"claim on {self.key} (job {self.job_id})"


class SampleTag(models.Model):
    """A curator's tag (e.g. "blurry", "check later") on samples of one dataset: a tag has many samples and a
    sample many tags. Tags belong to samples, not versions, so every version of the dataset shows them."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=64)
    samples = models.ManyToManyField(Sample, related_name="tags", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_sample_tag_name")]

    def __str__(self) -> str:
        return self.name
