"""Mask set API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.masks import apis

urlpatterns = [
    path("versions/<int:version_id>/mask-sets/", apis.VersionMaskSetListApi.as_view(), name="api-mask-set-list"),
    path(
        "versions/<int:version_id>/mask-sets/estimate/",
        apis.VersionMaskSetStartApi.as_view(),
        name="api-mask-set-start",
    ),
]
