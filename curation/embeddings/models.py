"""Embedding sets and the chunks that fill them (docs/ARCHITECTURE.md §4).

Embeddings never go into table rows: an EmbeddingSet points at files in storage, a float16 `.npy`
(rows x dim, unit rows, memory-mapped when read), an int64 `.npy` mapping each row to its sample id,
and the FAISS index built over them. The sha256 of the embeddings file is recorded when it is
written and checked before the file is used, so a corrupt file fails loudly instead of returning
wrong neighbours.

An embedding job is split into EmbeddingChunk rows (a range of the version's sample ids each), which
any worker may claim; the DB is the coordinator (Celery runs without a result backend here), and a
chunk whose claimer stopped beating is claimed again.
"""

from django.conf import settings
from django.db import models


class EmbeddingSetStatus(models.TextChoices):
    EMBEDDING = "embedding"  # chunks are being computed
    FINALIZING = "finalizing"  # every chunk is done; the files and the index are being assembled
    READY = "ready"
    FAILED = "failed"


class EmbeddingSet(models.Model):
    """The embeddings of one dataset version by one encoder."""

    dataset = models.ForeignKey("curation.Dataset", on_delete=models.CASCADE, related_name="embedding_sets")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.CASCADE, related_name="embedding_sets")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    encoder_name = models.CharField(max_length=500, help_text="Registry name, e.g. efficientnet-lite0")
    encoder_spec = models.JSONField(default=dict, blank=True, help_text="EncoderSpec.to_dict() of the encoder used.")
    dim = models.PositiveIntegerField(default=0)
    dtype = models.CharField(max_length=16, default="float16")
    status = models.CharField(
        max_length=16, choices=EmbeddingSetStatus.choices, default=EmbeddingSetStatus.EMBEDDING, db_index=True
    )
    planned_rows = models.PositiveIntegerField(default=0, help_text="Members of the version to embed.")
    rows = models.PositiveIntegerField(default=0, help_text="Rows in the embeddings file (embedded samples).")
    skipped = models.PositiveIntegerField(default=0, help_text="Members whose image could not be embedded.")
    chunk_size = models.PositiveIntegerField(default=1024)
    chunk_count = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    embeddings_key = models.CharField(max_length=300, blank=True, help_text="float16 (rows, dim) .npy")
    row_ids_key = models.CharField(max_length=300, blank=True, help_text="int64 (rows,) sample id of each row .npy")
    index_key = models.CharField(max_length=300, blank=True, help_text="FAISS index over the rows (ids = sample ids)")
    index_kind = models.CharField(max_length=16, blank=True, help_text="flat or ivf")
    checksum = models.CharField(max_length=64, blank=True, help_text="sha256 of the embeddings .npy")
    row_ids_checksum = models.CharField(max_length=64, blank=True, help_text="sha256 of the row ids .npy")
    index_checksum = models.CharField(max_length=64, blank=True, help_text="sha256 of the FAISS index file")
    finalize_token = models.CharField(max_length=64, blank=True, help_text="Claim of the process assembling the files")
    finalize_heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["version", "status"], name="embset_version_status")]

    def __str__(self) -> str:
        return f"EmbeddingSet {self.pk} v{self.version_id} {self.encoder_name} ({self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == EmbeddingSetStatus.READY

    @property
    def has_text_tower(self) -> bool:
        return bool(self.encoder_spec.get("has_text_tower"))


class ChunkStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class EmbeddingChunk(models.Model):
    """Members of the version with sample ids in [first_sample_id, last_sample_id], embedded as one unit.

    A claim sets `claim_token`; only the holder of the current token may mark the chunk done, so a
    claimer that was presumed dead (stale `heartbeat_at`) and came back cannot overwrite the new one.
    """

    embedding_set = models.ForeignKey(EmbeddingSet, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_sample_id = models.BigIntegerField()
    last_sample_id = models.BigIntegerField()
    planned = models.PositiveIntegerField(help_text="Members in the range.")
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    claim_token = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    embedded = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True, help_text="[{sample_id, reason}] of skipped images")
    blob_key = models.CharField(max_length=300, blank=True, help_text=".npz with this chunk's ids and embeddings")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["embedding_set", "number"]
        constraints = [models.UniqueConstraint(fields=["embedding_set", "number"], name="unique_chunk_number")]
        indexes = [models.Index(fields=["embedding_set", "status"], name="embchunk_set_status")]

    def __str__(self) -> str:
        return f"chunk {self.number} of set {self.embedding_set_id} ({self.status})"


class DuplicateKind(models.TextChoices):
    EXACT = "exact"  # the same bytes under several file names (one sample with several aliases)
    NEAR = "near"  # the same photo in different files: an embedding candidate confirmed by pixel verification
    SEMANTIC = "semantic"  # similar content (cosine at or above the threshold) that pixel verification did not confirm


class DuplicateRun(models.Model):
    """Exact and near-duplicate groups of an embedding set's samples, written whole when the job ends.

    threshold: the cosine used for near duplicates; threshold_source: "user" or "calibrated" (then
    `calibration` holds the perturbed-pair and nearest-neighbour histograms). `search` says how pairs
    were searched (exact, or within k-means cells with the recall measured against exact search on a
    sample); `truth` holds precision and recall against the demo dataset's ground truth, when it is the demo.
    """

    embedding_set = models.ForeignKey(EmbeddingSet, on_delete=models.CASCADE, related_name="duplicate_runs")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    threshold = models.FloatField()
    threshold_source = models.CharField(max_length=16)
    calibration = models.JSONField(default=dict, blank=True)
    search = models.JSONField(default=dict, blank=True)
    truth = models.JSONField(null=True, blank=True)
    exact_group_count = models.PositiveIntegerField(default=0)
    near_group_count = models.PositiveIntegerField(default=0)
    near_duplicate_samples = models.PositiveIntegerField(default=0)
    verify_threshold = models.FloatField(null=True, blank=True, help_text="Pixel verification score of a copy")
    semantic_group_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True, help_text="[{code, message}] the page shows above groups")
    members_stored = models.BooleanField(
        default=False, help_text="DuplicateMember rows were written (older runs' groups are read from sample_ids)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"DuplicateRun {self.pk} of set {self.embedding_set_id} (cosine >= {self.threshold:.4f})"


class DuplicateGroup(models.Model):
    """One group of a run: near duplicates (several samples, with each pair's cosine at or above the
    threshold that linked them) or an exact group (one sample, several file names)."""

    run = models.ForeignKey(DuplicateRun, on_delete=models.CASCADE, related_name="groups")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=DuplicateKind.choices)
    size = models.PositiveIntegerField(help_text="Samples (near) or file names (exact).")
    sample_ids = models.JSONField(default=list)
    pairs = models.JSONField(
        default=list, blank=True, help_text="[[sample a, sample b, cosine, pixel score]] (near and semantic groups)"
    )
    file_names = models.JSONField(default=list, blank=True, help_text="Names of the bytes (exact groups)")
    max_similarity = models.FloatField(default=1.0)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="unique_duplicate_group_number")]
        # The grid's duplicate-group menu lists each run's largest groups first (frontend.selectors).
        indexes = [models.Index(fields=["run", "-size", "number"], name="duplicate_group_largest")]

    def __str__(self) -> str:
        return f"{self.kind} group {self.number} of run {self.run_id} ({self.size})"


class DuplicateMember(models.Model):
    """A sample in a group of a run (one row per group it is in): the grid's duplicate-group filter walks
    (run, group, sample) and its sort by group size walks (run, size, sample) over each sample's `largest`
    row (its biggest group; the lowest number among equals), so every sample appears once in that order."""

    run = models.ForeignKey(DuplicateRun, on_delete=models.CASCADE, related_name="members", db_index=False)
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+", db_index=False)
    group_number = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="The group's size (DuplicateGroup.size).")
    largest = models.BooleanField(help_text="This is the sample's largest group in the run.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "group_number", "sample"], name="unique_duplicate_member"),
            models.UniqueConstraint(
                fields=["run", "sample"], condition=models.Q(largest=True), name="unique_duplicate_largest"
            ),
        ]
        indexes = [
            models.Index(
                fields=["run", "size", "sample"], condition=models.Q(largest=True), name="duplicate_member_size"
            ),
        ]

    def __str__(self) -> str:
        return f"sample {self.sample_id} in group {self.group_number} of run {self.run_id}"


class DuplicateCalibration(models.Model):
    """The thresholds of an embedding set's duplicate search, calibrated once on perturbed copies of its own
    images (embedding them is the slow part) and reused by every later run with the same `key` (target,
    images, seed, method version) until a run asks to recalibrate."""

    embedding_set = models.ForeignKey(EmbeddingSet, on_delete=models.CASCADE, related_name="duplicate_calibrations")
    key = models.CharField(max_length=200)
    embedding = models.JSONField(default=dict, help_text="Cosine calibration: threshold, histograms, shares")
    verification = models.JSONField(default=dict, help_text="Pixel verification calibration: threshold, shares")
    copies_embedded = models.PositiveIntegerField(default=0, help_text="Perturbed copies embedded to calibrate")
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["embedding_set", "key"], name="unique_duplicate_calibration")]

    def __str__(self) -> str:
        return f"DuplicateCalibration {self.key} of set {self.embedding_set_id}"


class EmbeddingMap(models.Model):
    """2-D coordinates of an embedding set's samples (PCA, or PCA then t-SNE), stored as an `.npz`
    (sample_ids int64, xy float32) with its sha256; t-SNE maps hold a stratified sample of the rows."""

    embedding_set = models.ForeignKey(EmbeddingSet, on_delete=models.CASCADE, related_name="maps")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=8)
    params = models.JSONField(default=dict, blank=True)
    points_key = models.CharField(max_length=300)
    points_checksum = models.CharField(max_length=64)
    point_count = models.PositiveIntegerField()
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"EmbeddingMap {self.pk} ({self.method}) of set {self.embedding_set_id}"
