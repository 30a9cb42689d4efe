"""Failure-slice report API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from explain.slices import apis

urlpatterns = [
    path("slice-reports/", apis.SliceReportListApi.as_view(), name="api-slice-report-list"),
    path("slice-reports/start/", apis.SliceReportStartApi.as_view(), name="api-slice-report-start"),
    path("slice-reports/<int:report_id>/", apis.SliceReportDetailApi.as_view(), name="api-slice-report-detail"),
    path("slice-reports/<int:report_id>/scores/", apis.SliceScoreStartApi.as_view(), name="api-slice-score-start"),
]
