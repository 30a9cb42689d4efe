"""Label proposals, review queues, votes and consensus (docs/ARCHITECTURE.md §4; docs/METHODS.md §4).

A ProposalRun is one pass of one proposal source over a version (confident learning on a linear
probe's out-of-fold probabilities, a trained model's top-k, CLIP zero-shot, mixed clusters); its
LabelProposal rows say "this label may apply to this sample", with the source's score and, where
the source has one, a label-issue score of the sample's current labels.

A ReviewQueue is a set of ReviewItems (one sample each, with its candidate labels and where they
came from) built from a filter over proposals, handed to assigned reviewers. A reviewer's turn at
an item is a ReviewAssignment (claimed, submitted or skipped). Every ReviewVote is kept: a new vote
on the same label supersedes the previous one (`superseded_by`), undo marks a vote (`undone_at`)
and makes the vote it superseded current again; nothing is deleted. At most one vote per
(item, reviewer, label) is current (a partial unique index), so a double submit cannot count twice.

An item reaches consensus once `quorum` reviewers submitted it: its state becomes agreed, or
disputed when a label has no majority; after that it takes no more votes. Applying a queue makes
a new immutable version whose reviewed samples carry the consensus label sets, origin "consensus".
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ProposalSource(models.TextChoices):
    CONFIDENT_LEARNING = "confident_learning", "Confident learning (linear probe)"
    LINEAR_PROBE = "linear_probe", "Linear probe suggestion (unlabeled)"
    MODEL_TOPK = "model_topk", "Trained model top-k"
    CLIP_ZERO_SHOT = "clip_zero_shot", "CLIP zero-shot"
    MIXED_CLUSTER = "mixed_cluster", "Mixed cluster"


class ProposalRun(models.Model):
    """One pass of one source over a version: its parameters (defaults included) and summary."""

    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="proposal_runs")
    source = models.CharField(max_length=32, choices=ProposalSource.choices)
    params = models.JSONField(default=dict, blank=True, help_text="Every parameter, defaults included.")
    summary = models.JSONField(default=dict, blank=True, help_text="Counts, timings, truth scores on the demo.")
    proposal_count = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0, help_text="Samples with at least one proposal.")
    issue_count = models.PositiveIntegerField(default=0, help_text="Samples with an issue score (ProposalIssue rows).")
    embedding_set = models.ForeignKey(
        "embeddings.EmbeddingSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cluster_run = models.ForeignKey(
        "pruning.ClusterRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trained_model = models.ForeignKey(
        "robustness.TrainedModel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"ProposalRun {self.pk} ({self.source}, v{self.version_id})"


class LabelProposal(models.Model):
    """A label that may apply to a sample, by one source.

    score: the source's confidence in `label` (a probability, a cosine softmax, a cluster's share).
    issue_score: how doubtful the sample's current labels are by this source (1 − the probability of
    the given label), null where the source has none. params: per-proposal evidence.
    """

    run = models.ForeignKey(ProposalRun, on_delete=models.CASCADE, related_name="proposals")
    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=200)
    source = models.CharField(max_length=32, choices=ProposalSource.choices)
    score = models.FloatField()
    issue_score = models.FloatField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "sample", "-score"]
        constraints = [models.UniqueConstraint(fields=["run", "sample", "label"], name="unique_proposal_per_run")]
        indexes = [
            models.Index(fields=["version", "source", "sample"], name="proposal_version_source"),
            models.Index(fields=["version", "sample"], name="proposal_version_sample"),
        ]

    def __str__(self) -> str:
        return f"{self.source}: sample {self.sample_id} -> {self.label} ({self.score:.3f})"


class ProposalIssue(models.Model):
    """A sample's issue score in a proposal run (the highest of its proposals'; samples without one have no
    row): the grid's sort by issue score walks (run, issue_score, sample) as keyset pages."""

    run = models.ForeignKey(ProposalRun, on_delete=models.CASCADE, related_name="issues", db_index=False)
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+", db_index=False)
    issue_score = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "sample"], name="unique_proposal_issue")]
        indexes = [models.Index(fields=["run", "issue_score", "sample"], name="proposal_issue_score")]

    def __str__(self) -> str:
        return f"sample {self.sample_id}: issue {self.issue_score:.3f} in run {self.run_id}"


class QueueKind(models.TextChoices):
    RELABEL = "relabel", "Relabel review"
    LABELING = "labeling", "Labeling"
    DISAGREEMENT = "disagreement", "Disagreement review"


class QueueStatus(models.TextChoices):
    OPEN = "open"
    APPLIED = "applied"


class Aggregation(models.TextChoices):
    MAJORITY = "majority", "Majority"
    AUTO = "auto", "Majority; Dawid–Skene for items with 3+ reviewers"


class ReviewQueue(models.Model):
    """Items of one version handed to assigned reviewers.

    reviewers_per_item: how many reviewers are asked to review each item. quorum: how many submitted
    reviews close an item (its consensus is computed then). filter: what the items were chosen by.
    """

    version = models.ForeignKey("curation.DatasetVersion", on_delete=models.PROTECT, related_name="review_queues")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=QueueKind.choices, default=QueueKind.RELABEL)
    filter = models.JSONField(default=dict, blank=True)
    reviewers_per_item = models.PositiveSmallIntegerField(default=1)
    quorum = models.PositiveSmallIntegerField(default=1)
    aggregation = models.CharField(max_length=16, choices=Aggregation.choices, default=Aggregation.AUTO)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="review_queues")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    status = models.CharField(max_length=16, choices=QueueStatus.choices, default=QueueStatus.OPEN)
    item_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Proposal truth scores on the demo, counts.")
    applied_version = models.OneToOneField(
        "curation.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="review_queue_applied"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Queue {self.pk} {self.name!r} (v{self.version_id})"


class ItemState(models.TextChoices):
    OPEN = "open"
    AGREED = "agreed"
    DISPUTED = "disputed"


class ReviewItem(models.Model):
    """One sample in a queue.

    candidates: [{"label", "current": bool, "sources": [{"source", "score"}]}], current labels first,
    then proposals by best score; reviewers may add labels of the taxonomy (source "reviewer").
    consensus: {label: {"value": yes|maybe|no|null, "confidence", "votes": {yes, maybe, no}}};
    consensus_labels: the labels whose consensus is yes.
    """

    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey("curation.Sample", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    candidates = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=ItemState.choices, default=ItemState.OPEN)
    submitted_count = models.PositiveSmallIntegerField(default=0)
    consensus = models.JSONField(default=dict, blank=True)
    consensus_labels = models.JSONField(default=list, blank=True)
    consensus_method = models.CharField(max_length=16, blank=True)
    consensus_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queue", "position"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "sample"], name="unique_item_sample_per_queue"),
            models.UniqueConstraint(fields=["queue", "position"], name="unique_item_position_per_queue"),
        ]
        indexes = [models.Index(fields=["queue", "state", "position"], name="item_queue_state_position")]

    def __str__(self) -> str:
        return f"item {self.position} of queue {self.queue_id} (sample {self.sample_id}, {self.state})"

    @property
    def candidate_labels(self) -> list[str]:
        return [candidate["label"] for candidate in self.candidates]

    @property
    def is_closed(self) -> bool:
        return self.state != ItemState.OPEN


class AssignmentState(models.TextChoices):
    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"


class ReviewAssignment(models.Model):
    """A reviewer's turn at an item: claimed when served, then submitted (counts towards quorum) or skipped."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=AssignmentState.choices, default=AssignmentState.CLAIMED)
    claimed_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    page = models.UUIDField(null=True, blank=True, help_text="The review page holding this claim (claims.py), or null.")

    class Meta:
        ordering = ["item", "claimed_at"]
        constraints = [models.UniqueConstraint(fields=["item", "reviewer"], name="unique_assignment_per_reviewer")]
        indexes = [
            models.Index(fields=["reviewer", "state", "item"], name="assignment_reviewer_state"),
            # Who holds an item (claims.py counts it per candidate item): answered from the index alone.
            models.Index(fields=["item", "state", "claimed_at", "reviewer"], name="assignment_item_holding"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} on item {self.item_id}: {self.state}"


class VoteValue(models.TextChoices):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


class VoteOrigin(models.TextChoices):
    REVIEW = "review", "Reviewer, on the review page or the API"
    IMPLICIT = "implicit", "Left unset when the reviewer submitted the item (counts as no)"
    BULK_GRID = "bulk_grid", "Bulk labeling of a grid selection"
    BULK_MAP = "bulk_map", "Bulk labeling of a lasso on the embedding map"


class ReviewVote(models.Model):
    """One vote, kept forever; `is_current` marks the one vote per (item, reviewer, label) that counts."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=200)
    value = models.CharField(max_length=8, choices=VoteValue.choices)
    origin = models.CharField(max_length=16, choices=VoteOrigin.choices, default=VoteOrigin.REVIEW)
    is_current = models.BooleanField(default=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, help_text="Client idempotency key of the vote request.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "reviewer", "label"], condition=Q(is_current=True), name="one_current_vote_per_label"
            ),
            models.UniqueConstraint(
                fields=["reviewer", "request_id"], condition=~Q(request_id=""), name="unique_vote_request_id"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "id"], name="vote_reviewer_id")]

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.value} {self.label!r} on item {self.item_id}"


class TaxonomyAction(models.TextChoices):
    ADD = "add"
    RENAME = "rename"
    MERGE = "merge"


class TaxonomyChange(models.Model):
    """A recorded change of a dataset's class list; versions keep their labels, later applies map them."""

    dataset = models.ForeignKey("curation.Dataset", on_delete=models.CASCADE, related_name="taxonomy_changes")
    action = models.CharField(max_length=8, choices=TaxonomyAction.choices)
    sources = models.JSONField(default=list, help_text="Classes renamed or merged (empty for add).")
    target = models.CharField(max_length=200, help_text="The class added, or the new name.")
    classes_before = models.JSONField(default=list)
    classes_after = models.JSONField(default=list)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.sources} -> {self.target} ({self.dataset_id})"
