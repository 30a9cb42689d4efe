"""Synthetic generation and review API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.synthetic.apis import views

urlpatterns = [
    path(
        "versions/<int:version_id>/synthetic-batches/",
        views.SyntheticBatchCreateApi.as_view(),
        name="api-synthetic-batch-create",
    ),
    path("synthetic-batches/", views.SyntheticBatchListApi.as_view(), name="api-synthetic-batch-list"),
    path("synthetic-batches/<int:batch_id>/", views.SyntheticBatchDetailApi.as_view(), name="api-synthetic-batch"),
    path(
        "synthetic-batches/<int:batch_id>/images/",
        views.SyntheticBatchImagesApi.as_view(),
        name="api-synthetic-batch-images",
    ),
    path(
        "synthetic-batches/<int:batch_id>/review/",
        views.SyntheticBatchBulkReviewApi.as_view(),
        name="api-synthetic-batch-review",
    ),
    path(
        "synthetic-batches/<int:batch_id>/apply/",
        views.SyntheticBatchApplyApi.as_view(),
        name="api-synthetic-batch-apply",
    ),
    path(
        "synthetic-images/<int:image_id>/review/",
        views.SyntheticImageReviewApi.as_view(),
        name="api-synthetic-image-review",
    ),
]
