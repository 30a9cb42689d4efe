"""Clusters and pruning API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.pruning.apis import views

urlpatterns = [
    path("cluster-runs/", views.ClusterRunStartApi.as_view(), name="api-cluster-run-start"),
    path("cluster-runs/<int:cluster_run_id>/", views.ClusterRunDetailApi.as_view(), name="api-cluster-run-detail"),
    path(
        "versions/<int:version_id>/cluster-runs/",
        views.VersionClusterRunListApi.as_view(),
        name="api-version-cluster-runs",
    ),
    path("prune-methods/", views.PruneMethodListApi.as_view(), name="api-prune-methods"),
    path("prune-runs/", views.PruneRunStartApi.as_view(), name="api-prune-run-start"),
    path("prune-runs/<int:prune_run_id>/", views.PruneRunDetailApi.as_view(), name="api-prune-run-detail"),
    path(
        "prune-runs/<int:prune_run_id>/decisions/",
        views.PruneDecisionListApi.as_view(),
        name="api-prune-run-decisions",
    ),
    path("prune-runs/<int:prune_run_id>/apply/", views.PruneRunApplyApi.as_view(), name="api-prune-run-apply"),
    path(
        "versions/<int:version_id>/prune-runs/", views.VersionPruneRunListApi.as_view(), name="api-version-prune-runs"
    ),
    path(
        "versions/<int:version_id>/diff/<int:other_id>/",
        views.VersionDiffApi.as_view(),
        name="api-version-diff",
    ),
]
