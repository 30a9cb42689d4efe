"""Page routes of the failure-slice area (namespace "frontend", appended in frontend/urls.py)."""

from django.urls import path

from frontend.pages import slices

urlpatterns = [
    path("slices/", slices.slice_report_list_page, name="slice_report_list"),
    path("slices/start/", slices.slice_report_start_page, name="slice_report_start"),
    path("slices/<int:report_id>/", slices.slice_report_page, name="slice_report"),
    path("slices/<int:report_id>/compare/", slices.slice_score_start_page, name="slice_score_start"),
    path("slices/<int:report_id>/<int:number>/", slices.slice_page, name="slice_detail"),
    path("slices/<int:report_id>/<int:number>/review/", slices.slice_review_queue_page, name="slice_review_queue"),
    path(
        "slices/<int:report_id>/<int:number>/synthetic/", slices.slice_synthetic_plan_page, name="slice_synthetic_plan"
    ),
    path("slices/<int:report_id>/evaluate/", slices.slice_evaluation_start_page, name="slice_evaluation_start"),
]
