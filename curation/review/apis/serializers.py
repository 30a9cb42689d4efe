"""Input and output serializers of the review API."""

from typing import Any

from rest_framework import serializers

from core.params import params_serializer
from curation.apis.serializers import sample_media_path
from curation.review.models import Aggregation, QueueKind, TaxonomyAction, VoteValue
from curation.review.services.proposal_params import ProposalParams

# Generated from ProposalParams (core.params): the fields, help and defaults of the new-queue page's form and
# `manage.py propose_labels`. Parameters left out take their defaults (GET the run to see every value used).
ProposalRunInputSerializer = params_serializer(ProposalParams, name="ProposalRunInputSerializer")


class ProposalRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version_id")
    source = serializers.CharField()  # type: ignore[assignment]
    params = serializers.JSONField()
    summary = serializers.JSONField(
        help_text="Counts, timings; confident learning: `label_issues` (flagged as mislabelled) apart from "
        "`shift_flags` (held-out flags a shift against train explains), `by_split`, `instances` (same-object "
        "matching: ran or why not, pairs, copies, samples covered, flagged and cleared by partners, seconds); "
        "`truth`: precision and recall on the demo."
    )
    proposal_count = serializers.IntegerField()
    flagged_count = serializers.IntegerField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class QueueCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=[QueueKind.RELABEL, QueueKind.LABELING], default=QueueKind.RELABEL)
    filter = serializers.DictField(
        required=False,
        default=dict,
        help_text="Keys: sources, proposal_runs, min_issue_score, min_score, classes, cluster_run, clusters, "
        "unlabeled, limit",
    )
    reviewers_per_item = serializers.IntegerField(default=1, min_value=1)
    quorum = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Default: reviewers_per_item."
    )
    aggregation = serializers.ChoiceField(choices=Aggregation.choices, default=Aggregation.AUTO)
    reviewers = serializers.ListField(child=serializers.IntegerField(), default=list, help_text="User ids to assign.")


class ReviewerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class QueueOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version_id")
    dataset = serializers.IntegerField(source="version.dataset_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    filter = serializers.JSONField()
    reviewers_per_item = serializers.IntegerField()
    quorum = serializers.IntegerField()
    aggregation = serializers.CharField()
    status = serializers.CharField()
    item_count = serializers.IntegerField()
    reviewers = ReviewerSerializer(many=True, source="reviewers.all")
    summary = serializers.JSONField(help_text="`truth`: precision/recall of the proposals on the demo dataset.")
    parent = serializers.IntegerField(source="parent_id", allow_null=True)  # type: ignore[assignment]
    applied_version = serializers.IntegerField(source="applied_version_id", allow_null=True)
    created_at = serializers.DateTimeField()


class QueueDetailOutputSerializer(QueueOutputSerializer):
    progress = serializers.JSONField(help_text="Items per state, votes, per-reviewer counts.")
    agreement = serializers.JSONField(help_text="Cohen's kappa per pair, per reviewer vs consensus, Fleiss' kappa.")


class CandidateSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    current = serializers.BooleanField()
    sources = serializers.ListField(child=serializers.DictField())
    key = serializers.IntegerField(help_text="Number key on the review page.")
    my_vote = serializers.CharField(help_text="The caller's current vote on it, or empty.")


class ItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.pk")
    queue = serializers.IntegerField(source="item.queue_id")
    position = serializers.IntegerField(source="item.position")
    sample = serializers.IntegerField(source="item.sample_id")
    image_url = serializers.SerializerMethodField()
    state = serializers.CharField(source="item.state")
    submitted_count = serializers.IntegerField(source="item.submitted_count")
    labels = serializers.SerializerMethodField(help_text="The sample's labels in the queue's version.")
    candidates = CandidateSerializer(many=True)
    consensus = serializers.JSONField(source="item.consensus")
    consensus_labels = serializers.ListField(child=serializers.CharField(), source="item.consensus_labels")
    my_state = serializers.CharField(source="assignment_state", help_text="claimed, submitted, skipped or empty.")

    def get_image_url(self, view: Any) -> str:
        return sample_media_path(view.item.sample_id, "image")

    def get_labels(self, view: Any) -> list[dict[str, str]]:
        return view.member.labels if view.member else []


class ItemStateOutputSerializer(serializers.Serializer):
    """What submit and skip answer: the item's state after it (the page moves on; GET the item for the rest)."""

    id = serializers.IntegerField()
    state = serializers.CharField()
    submitted_count = serializers.IntegerField()
    consensus = serializers.JSONField()
    consensus_labels = serializers.ListField(child=serializers.CharField())
    consensus_method = serializers.CharField()


class NextItemOutputSerializer(serializers.Serializer):
    item = ItemOutputSerializer(allow_null=True, help_text="Null when nothing is left for you in this queue.")


class NextItemInputSerializer(serializers.Serializer):
    page = serializers.UUIDField(
        required=False,
        help_text="The asking review page's token (its data-page): the claim served, or the batch claimed, is that "
        "page's, so that an earlier page's release leaves it. Without it (an API client), it is no page's.",
    )


class ClaimsReleaseInputSerializer(serializers.Serializer):
    page = serializers.UUIDField(
        required=False,
        help_text="A review page's beacon: that page's token (its data-page). Only the claims that page still holds "
        "(and those no page holds) go back; the ones a newer page of yours has taken since stay. Without it, every "
        "claim without a vote.",
    )


class ClaimsReleasedOutputSerializer(serializers.Serializer):
    released = serializers.IntegerField(help_text="Claims without votes given back (prefetched items included).")


class VoteInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200)  # type: ignore[assignment]
    vote = serializers.ChoiceField(choices=VoteValue.choices)
    request_id = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)


class VoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField(source="item_id")
    reviewer = serializers.CharField(source="reviewer.username")
    label = serializers.CharField()  # type: ignore[assignment]
    vote = serializers.CharField(source="value")
    origin = serializers.CharField()
    is_current = serializers.BooleanField()
    superseded_by = serializers.IntegerField(source="superseded_by_id", allow_null=True)
    undone_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class VoteCastOutputSerializer(VoteOutputSerializer):
    created = serializers.BooleanField(help_text="False when this exact vote was already recorded (a repeat).")


class UndoOutputSerializer(serializers.Serializer):
    undone = serializers.CharField(allow_null=True, help_text="vote, submit, skip, or null when nothing to undo.")
    item = serializers.IntegerField(allow_null=True)
    vote = VoteOutputSerializer(allow_null=True)


class VotePageOutputSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = VoteOutputSerializer(many=True)


class ReviewersInputSerializer(serializers.Serializer):
    reviewers = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)


class DisagreementInputSerializer(serializers.Serializer):
    reviewers = serializers.ListField(child=serializers.IntegerField(), default=list, help_text="Default: same.")
    reviewers_per_item = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    quorum = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class ApplyInputSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(required=False, allow_null=True, help_text="Default: the queue's version.")


class QueueAppliedOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    number = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)  # type: ignore[assignment]
    sample_count = serializers.IntegerField()
    operation_params = serializers.JSONField()
    created = serializers.BooleanField()


class BulkVoteInputSerializer(serializers.Serializer):
    sample_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=5000)
    label = serializers.CharField(max_length=200)  # type: ignore[assignment]
    vote = serializers.ChoiceField(choices=VoteValue.choices, default=VoteValue.YES)
    origin = serializers.ChoiceField(choices=["bulk_grid", "bulk_map"], default="bulk_grid")


class BulkVoteOutputSerializer(serializers.Serializer):
    selected = serializers.IntegerField()
    voted = serializers.IntegerField()
    items_added = serializers.IntegerField()
    closed_or_done = serializers.IntegerField()


class TaxonomyChangeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    sources = serializers.ListField(child=serializers.CharField())
    target = serializers.CharField()
    classes_before = serializers.ListField(child=serializers.CharField())
    classes_after = serializers.ListField(child=serializers.CharField())
    changed_by = serializers.CharField(source="changed_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class TaxonomyOutputSerializer(serializers.Serializer):
    classes = serializers.ListField(child=serializers.CharField())
    changes = TaxonomyChangeOutputSerializer(many=True)


class TaxonomyChangeInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=TaxonomyAction.choices)
    name = serializers.CharField(max_length=200, required=False, help_text="add: the new class; rename: the old name.")
    new_name = serializers.CharField(max_length=200, required=False, help_text="rename: the new name.")
    names = serializers.ListField(child=serializers.CharField(), required=False, help_text="merge: classes to merge.")
    into = serializers.CharField(max_length=200, required=False, help_text="merge: the class they become.")
