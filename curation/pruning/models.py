"""Clusters and pruning runs (docs/ARCHITECTURE.md §4; docs/METHODS.md §1-3).

A ClusterRun is a spherical k-means of one version's samples in one embedding set. Per-sample
assignments (sample ids, cluster, cosine distance to the centroid) and the centroids live in
`.npz` blobs keyed by the run, not in table rows: at 1M samples a table would cost a million
inserts per run, while every reader (galleries, filters, map colours) needs one cluster's
members or one array. Per-cluster statistics (k rows) are a table, sortable on the page.

A PruneRun proposes; it never changes a version. It stores a decision, a reason and a score for
every sample of its source version (PruneDecision rows, written in bulk). Applying it creates a
new immutable version (operation "prune", parent = the source version) holding the kept
samples; applying twice returns that same version. Nothing is deleted.
"""

from django.conf import settings
from django.db import models


class ClusterRun(models.Model):
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="cluster_runs")
    embedding_set = models.ForeignKey("embeddings.EmbeddingSet", on_delete=models.PROTECT, related_name="+")
    n_clusters = models.PositiveIntegerField(help_text="k of the spherical k-means.")
    n_samples = models.PositiveIntegerField()
    params = models.JSONField(default=dict, blank=True, help_text="k-means settings, defaults included.")
    summary = models.JSONField(default=dict, blank=True, help_text="Timings and counts.")
    assignment_key = models.CharField(max_length=300, help_text="npz: sample_ids, cluster, distance.")
    centroids_key = models.CharField(max_length=300, help_text="npy: (k, d) float32 unit centroids.")
    members_stored = models.BooleanField(
        default=False, help_text="ClusterMember rows were written (runs made before them read the .npz)."
    )
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"ClusterRun {self.pk} (v{self.version_id}, k={self.n_clusters})"


class Cluster(models.Model):
    """One cluster of a run, with DBP's statistics (docs/METHODS.md §2) and its class mix."""

    cluster_run = models.ForeignKey(ClusterRun, on_delete=models.CASCADE, related_name="clusters")
    index = models.PositiveIntegerField(help_text="The k-means label, 0..k-1.")
    size = models.PositiveIntegerField()
    d_intra = models.FloatField(null=True, blank=True, help_text="Mean cosine distance of members to the centroid.")
    d_inter = models.FloatField(null=True, blank=True, help_text="Mean cosine distance to the l nearest centroids.")
    complexity = models.FloatField(help_text="d_intra × d_inter; clusters of 1-2 members get the mean.")
    class_mix = models.JSONField(default=dict, blank=True, help_text="{primary label: members}.")

    class Meta:
        ordering = ["cluster_run", "index"]
        constraints = [models.UniqueConstraint(fields=["cluster_run", "index"], name="unique_cluster_index")]

    def __str__(self) -> str:
        return f"cluster {self.index} of run {self.cluster_run_id}"


class ClusterMember(models.Model):
    """A sample's cluster in a run and its cosine distance to the centroid: the grid's cluster filter and its
    sort by distance (keyset pages on (distance, sample) or (cluster, sample) within the run)."""

    # No database constraints on the links, as for PruneDecision: the rows are written by COPY in the
    # transaction that creates their run, and name members of its version, which PROTECTs them.
    cluster_run = models.ForeignKey(
        ClusterRun, on_delete=models.CASCADE, related_name="members", db_index=False, db_constraint=False
    )
    sample = models.ForeignKey(
        "curation.Sample", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    cluster = models.IntegerField(help_text="The k-means label, 0..k-1.")
    distance = models.FloatField(help_text="Cosine distance to the cluster's centroid.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster_run", "sample"], name="unique_cluster_member")]
        indexes = [
            models.Index(fields=["cluster_run", "cluster", "sample"], name="cluster_member_cluster"),
            models.Index(fields=["cluster_run", "distance", "sample"], name="cluster_member_distance"),
        ]

    def __str__(self) -> str:
        return f"sample {self.sample_id} in cluster {self.cluster} of run {self.cluster_run_id}"


class PruneMethod(models.TextChoices):
    SEMDEDUP = "semdedup", "SemDeDup"
    DBP = "dbp", "Density-based pruning"
    SSP = "ssp", "Prototypicality (SSP)"
    RANDOM = "random", "Random (control)"
    SEMDEDUP_DBP = "semdedup+dbp", "SemDeDup then DBP"


class PruneRunStatus(models.TextChoices):
    PROPOSED = "proposed"
    APPLIED = "applied"


class PruneRun(models.Model):
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="prune_runs")
    embedding_set = models.ForeignKey(
        "embeddings.EmbeddingSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cluster_run = models.ForeignKey(ClusterRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=16, choices=PruneMethod.choices)
    params = models.JSONField(default=dict, blank=True, help_text="Every parameter, defaults included.")
    status = models.CharField(max_length=16, choices=PruneRunStatus.choices, default=PruneRunStatus.PROPOSED)
    n_candidates = models.PositiveIntegerField()
    n_kept = models.PositiveIntegerField()
    summary = models.JSONField(default=dict, blank=True, help_text="Counts per reason and stage, timings, truth.")
    sweep = models.JSONField(default=list, blank=True, help_text="SemDeDup: [{eps, n_kept, kept_fraction}].")
    budgets_key = models.CharField(max_length=300, blank=True, help_text="npz of per-cluster budgets, if any.")
    resulting_version = models.OneToOneField(
        "curation.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="prune_run_applied"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"PruneRun {self.pk} ({self.method}, v{self.version_id})"

    @property
    def n_removed(self) -> int:
        return self.n_candidates - self.n_kept


class PruneDecision(models.Model):
    """What a prune run decided for one sample, and why (reason codes of curation.ml.pruning.PruneReason)."""

    # The unique (prune_run, sample) index serves lookups by run: no separate prune_run index.
    # No database constraints on the foreign keys: the decisions are written by COPY in the same
    # transaction that creates their run (Django still CASCADEs a deleted run's decisions), and a run
    # names only members of its version, which PROTECTs its run (PruneRun.version) and its samples
    # (VersionSample.sample) and never changes. Per-row checks at commit cost 2/3 of writing a run's
    # decisions (17 of 27 s per 200k rows for the sample links; the run link's trigger fired per row too).
    prune_run = models.ForeignKey(
        PruneRun, on_delete=models.CASCADE, related_name="decisions", db_index=False, db_constraint=False
    )
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    keep = models.BooleanField()
    # A curation.ml.pruning.PruneReason code (no choices here: importing the ML package at start-up loads FAISS).
    reason = models.PositiveSmallIntegerField(
        help_text="PruneReason code: 0 kept, 1 not candidate, 2 exact, 3 semantic, "
        "4 over budget, 5 prototypicality, 6 random, 7 outside the pruned splits (kept)."
    )
    score = models.FloatField(null=True, blank=True, help_text="The method's score; null where undefined.")
    # No index: nothing looks decisions up by the sample they duplicate (pages and API read it off the row), and
    # SemDeDup names one for nearly every row (999,000 of 1M in bench/prune_db_bench.py), so a partial index
    # WHERE NOT NULL would be as large. Its unordered values made it the dearest of the table's five indexes to
    # maintain: 1M decisions inserted in 61-62 s with it, 28-37 s without, 5 s into a table with none (load 10-13).
    # Only a deletion's PROTECT check reads by it: one sequential scan of the table (0.7 s per 1M rows, loaded).
    duplicate_of = models.ForeignKey(
        "curation.Sample",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    cluster = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["prune_run", "sample"]
        constraints = [models.UniqueConstraint(fields=["prune_run", "sample"], name="unique_decision_per_sample")]
        indexes = [models.Index(fields=["prune_run", "keep", "cluster", "sample"], name="decision_run_keep_cluster")]

    def __str__(self) -> str:
        return f"run {self.prune_run_id} sample {self.sample_id}: {'keep' if self.keep else 'remove'}"
