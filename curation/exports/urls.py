"""Export API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.exports.apis import views

urlpatterns = [
    path(
        "versions/<int:version_id>/exports/", views.VersionExportCreateApi.as_view(), name="api-version-export-create"
    ),
    path("exports/", views.ExportListApi.as_view(), name="api-export-list"),
    path("exports/<int:export_id>/", views.ExportDetailApi.as_view(), name="api-export-detail"),
    path(
        "exports/<int:export_id>/download/<str:file_name>",
        views.ExportDownloadApi.as_view(),
        name="api-export-download",
    ),
]
