"""Deletion API routes, mounted under /api/ (config/urls.py); dataset and version DELETE are on their detail routes."""

from django.urls import path

from curation.deletion import apis

urlpatterns = [
    path("runs/<str:kind>/<int:run_id>/", apis.RunDeleteApi.as_view(), name="api-run-delete"),
    path("deletions/", apis.DeletionListApi.as_view(), name="api-deletion-list"),
]
