"""Django admin for proposals and review queues: read-only (services make and change them; votes are never
edited or deleted). Vote and proposal tables grow large: foreign keys are raw ids, change lists skip counts."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from curation.review.models import ProposalRun, ReviewItem, ReviewQueue, ReviewVote, TaxonomyChange


@admin.register(ProposalRun)
class ProposalRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "version", "source", "proposal_count", "flagged_count", "created_by", "created_at")
    list_filter = ("source",)
    raw_id_fields = ("version", "embedding_set", "cluster_run", "trained_model", "job")


@admin.register(ReviewQueue)
class ReviewQueueAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "kind", "version", "item_count", "reviewers_per_item", "quorum", "status")
    list_filter = ("kind", "status")
    raw_id_fields = ("version", "parent", "applied_version")


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "queue", "position", "sample", "state", "submitted_count", "consensus_method")
    list_filter = ("state",)
    raw_id_fields = ("queue", "sample")


@admin.register(ReviewVote)
class ReviewVoteAdmin(ReadOnlyAdmin):
    list_display = ("id", "item", "reviewer", "label", "value", "origin", "is_current", "undone_at", "created_at")
    list_filter = ("value", "origin", "is_current")
    raw_id_fields = ("item", "reviewer", "superseded_by")


@admin.register(TaxonomyChange)
class TaxonomyChangeAdmin(ReadOnlyAdmin):
    list_display = ("id", "dataset", "action", "sources", "target", "changed_by", "created_at")
    raw_id_fields = ("dataset",)
