"""Deletion API routes, mounted under /api/ (config/urls.py); dataset and version DELETE are on their detail routes."""

from django.urls import path

from curation.deletion.apis import views

urlpatterns = [
    path("runs/<str:kind>/<int:run_id>/", views.RunDeleteApi.as_view(), name="api-run-delete"),
    path("deletions/", views.DeletionListApi.as_view(), name="api-deletion-list"),
]
