"""Page routes of the spurious area (namespace "frontend", appended in frontend/urls.py)."""

from django.urls import path

from frontend.pages import spurious

urlpatterns = [
    path("spurious/", spurious.spurious_report_list_page, name="spurious_report_list"),
    path("spurious/start/", spurious.spurious_report_start_page, name="spurious_report_start"),
    path("spurious/<int:report_id>/", spurious.spurious_report_page, name="spurious_report"),
    path(
        "spurious/<int:report_id>/examples/<path:name>.png",
        spurious.spurious_report_example,
        name="spurious_report_example",
    ),
]
