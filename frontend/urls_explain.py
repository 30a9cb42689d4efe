"""Page routes of the explain area (namespace "frontend", appended in frontend/urls.py)."""

from django.urls import path

from frontend.pages import explain

urlpatterns = [
    path("explanations/", explain.explanation_list, name="explanation_list"),
    path("explanations/start/", explain.explanation_start, name="explanation_start"),
    path("explanations/compare/", explain.explanation_compare, name="explanation_compare"),
    path("explanations/<int:run_id>/", explain.explanation_report, name="explanation_report"),
    path("explanations/<int:run_id>/gallery/", explain.explanation_gallery, name="explanation_gallery"),
    path(
        "explanations/<int:run_id>/samples/<int:sample_id>/<str:kind>.png",
        explain.explanation_image,
        name="explanation_image",
    ),
]
