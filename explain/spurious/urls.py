"""Spurious-feature report API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from explain.spurious import apis

urlpatterns = [
    path("spurious-reports/", apis.SpuriousReportListApi.as_view(), name="api-spurious-report-list"),
    path("spurious-reports/start/", apis.SpuriousReportStartApi.as_view(), name="api-spurious-report-start"),
    path(
        "spurious-reports/<int:report_id>/", apis.SpuriousReportDetailApi.as_view(), name="api-spurious-report-detail"
    ),
]
