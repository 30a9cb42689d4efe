"""Review API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.review.apis import views

urlpatterns = [
    path("proposal-runs/", views.ProposalRunStartApi.as_view(), name="api-proposal-run-start"),
    path("proposal-runs/<int:proposal_run_id>/", views.ProposalRunDetailApi.as_view(), name="api-proposal-run-detail"),
    path(
        "versions/<int:version_id>/proposal-runs/",
        views.VersionProposalRunListApi.as_view(),
        name="api-version-proposal-runs",
    ),
    path("review-queues/", views.ReviewQueueListApi.as_view(), name="api-review-queue-list"),
    path(
        "versions/<int:version_id>/review-queues/", views.ReviewQueueCreateApi.as_view(), name="api-review-queue-create"
    ),
    path("review-queues/<int:queue_id>/", views.ReviewQueueDetailApi.as_view(), name="api-review-queue-detail"),
    path(
        "review-queues/<int:queue_id>/reviewers/",
        views.ReviewQueueReviewersApi.as_view(),
        name="api-review-queue-reviewers",
    ),
    path("review-queues/<int:queue_id>/next/", views.ReviewQueueNextApi.as_view(), name="api-review-queue-next"),
    path("review-queues/<int:queue_id>/undo/", views.ReviewUndoApi.as_view(), name="api-review-undo"),
    path(
        "review-queues/<int:queue_id>/release/", views.ReviewQueueReleaseApi.as_view(), name="api-review-queue-release"
    ),
    path("review-queues/<int:queue_id>/votes/", views.ReviewQueueVoteListApi.as_view(), name="api-review-vote-list"),
    path("review-queues/<int:queue_id>/bulk-votes/", views.ReviewBulkVoteApi.as_view(), name="api-review-bulk-vote"),
    path(
        "review-queues/<int:queue_id>/disagreements/",
        views.ReviewDisagreementQueueApi.as_view(),
        name="api-review-disagreement-queue",
    ),
    path("review-queues/<int:queue_id>/apply/", views.ReviewQueueApplyApi.as_view(), name="api-review-queue-apply"),
    path("review-items/<int:item_id>/", views.ReviewItemDetailApi.as_view(), name="api-review-item-detail"),
    path("review-items/<int:item_id>/votes/", views.ReviewVoteCastApi.as_view(), name="api-review-vote-cast"),
    path("review-items/<int:item_id>/submit/", views.ReviewItemSubmitApi.as_view(), name="api-review-item-submit"),
    path("review-items/<int:item_id>/skip/", views.ReviewItemSkipApi.as_view(), name="api-review-item-skip"),
    path("datasets/<int:dataset_id>/taxonomy/", views.TaxonomyApi.as_view(), name="api-taxonomy"),
    path("datasets/<int:dataset_id>/taxonomy/changes/", views.TaxonomyChangeApi.as_view(), name="api-taxonomy-change"),
]
