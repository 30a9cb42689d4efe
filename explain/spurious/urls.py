"""Spurious-feature report API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from explain.spurious.apis import views

urlpatterns = [
    path("spurious-reports/", views.SpuriousReportListApi.as_view(), name="api-spurious-report-list"),
    path("spurious-reports/start/", views.SpuriousReportStartApi.as_view(), name="api-spurious-report-start"),
    path(
        "spurious-reports/<int:report_id>/", views.SpuriousReportDetailApi.as_view(), name="api-spurious-report-detail"
    ),
]
