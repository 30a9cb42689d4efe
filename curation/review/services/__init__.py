"""Writes of the review app: proposals, queues, votes, consensus, applying, taxonomy changes.

proposals.py (the propose_labels job) over proposal_params.py, proposal_inputs.py, proposal_sources.py and
confident_learning.py; queues.py (creating queues), claims.py (who reviews which item), votes.py (votes,
submit, skip, undo), consensus.py, bulk.py, apply.py (accepted labels into a new version), taxonomy.py,
truth.py (demo precision). model_scores.py (torch) is not listed: proposal_sources imports it on use.
"""

from curation.review.services.apply import (
    review_queue_apply,
)
from curation.review.services.bulk import (
    review_bulk_label,
)
from curation.review.services.claims import (
    CLAIM_TTL,
    PREFETCH,
    claims_batched,
    item_claims_release,
    review_claim_page_take,
    review_claims_release,
    review_item_next,
)
from curation.review.services.confident_learning import (
    confident_learning,
)
from curation.review.services.consensus import (
    VALUE_INDEX,
    VALUES,
    CountedVote,
    counted_votes,
    item_consensus_close,
    queue_consensus_refresh,
)
from curation.review.services.proposal_inputs import (
    Members,
    Proposal,
    class_order,
    member_embeddings,
    top_k_proposals,
)
from curation.review.services.proposal_params import (
    SOURCE_FIELDS,
    STARTABLE_SOURCES,
    ProposalParams,
    proposal_params_validate,
)
from curation.review.services.proposal_sources import (
    clip_zero_shot,
    mixed_clusters,
    model_topk,
)
from curation.review.services.proposals import (
    PROPOSALS_JOB_KIND,
    proposal_run_create,
    proposal_run_submit,
)
from curation.review.services.queues import (
    QueueFilter,
    item_candidates,
    queue_filter_parse,
    queue_samples_select,
    review_disagreement_queue_create,
    review_queue_create,
    review_queue_reviewers_set,
    slice_review_queue_create,
)
from curation.review.services.taxonomy import (
    TAXONOMY_ACTIONS,
    taxonomy_change,
    taxonomy_class_add,
    taxonomy_class_rename,
    taxonomy_classes_merge,
    taxonomy_label_map,
)
from curation.review.services.truth import (
    proposal_truth_scores,
    version_missing_labels,
)
from curation.review.services.votes import (
    UndoOutcome,
    VoteOutcome,
    item_submit_locked,
    review_item_skip,
    review_item_submit,
    review_undo,
    review_vote_cast,
    vote_record,
)

__all__ = [
    "CLAIM_TTL",
    "PREFETCH",
    "PROPOSALS_JOB_KIND",
    "SOURCE_FIELDS",
    "STARTABLE_SOURCES",
    "TAXONOMY_ACTIONS",
    "VALUES",
    "VALUE_INDEX",
    "CountedVote",
    "Members",
    "Proposal",
    "ProposalParams",
    "QueueFilter",
    "UndoOutcome",
    "VoteOutcome",
    "claims_batched",
    "class_order",
    "clip_zero_shot",
    "confident_learning",
    "counted_votes",
    "item_candidates",
    "item_claims_release",
    "item_consensus_close",
    "item_submit_locked",
    "member_embeddings",
    "mixed_clusters",
    "model_topk",
    "proposal_params_validate",
    "proposal_run_create",
    "proposal_run_submit",
    "proposal_truth_scores",
    "queue_consensus_refresh",
    "queue_filter_parse",
    "queue_samples_select",
    "review_bulk_label",
    "review_claim_page_take",
    "review_claims_release",
    "review_disagreement_queue_create",
    "review_item_next",
    "review_item_skip",
    "review_item_submit",
    "review_queue_apply",
    "review_queue_create",
    "review_queue_reviewers_set",
    "review_undo",
    "review_vote_cast",
    "slice_review_queue_create",
    "taxonomy_change",
    "taxonomy_class_add",
    "taxonomy_class_rename",
    "taxonomy_classes_merge",
    "taxonomy_label_map",
    "top_k_proposals",
    "version_missing_labels",
    "vote_record",
]
