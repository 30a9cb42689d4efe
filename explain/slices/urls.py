"""Failure-slice report API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from explain.slices.apis import views

urlpatterns = [
    path("slice-reports/", views.SliceReportListApi.as_view(), name="api-slice-report-list"),
    path("slice-reports/start/", views.SliceReportStartApi.as_view(), name="api-slice-report-start"),
    path("slice-reports/<int:report_id>/", views.SliceReportDetailApi.as_view(), name="api-slice-report-detail"),
    path("slice-reports/<int:report_id>/scores/", views.SliceScoreStartApi.as_view(), name="api-slice-score-start"),
]
