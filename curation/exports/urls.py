"""Export API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.exports import apis

urlpatterns = [
    path("versions/<int:version_id>/exports/", apis.VersionExportCreateApi.as_view(), name="api-version-export-create"),
    path("exports/", apis.ExportListApi.as_view(), name="api-export-list"),
    path("exports/<int:export_id>/", apis.ExportDetailApi.as_view(), name="api-export-detail"),
    path(
        "exports/<int:export_id>/download/<str:file_name>",
        apis.ExportDownloadApi.as_view(),
        name="api-export-download",
    ),
]
