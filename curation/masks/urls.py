"""Mask set API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.masks.apis import views

urlpatterns = [
    path("versions/<int:version_id>/mask-sets/", views.VersionMaskSetListApi.as_view(), name="api-mask-set-list"),
    path(
        "versions/<int:version_id>/mask-sets/estimate/",
        views.VersionMaskSetStartApi.as_view(),
        name="api-mask-set-start",
    ),
]
