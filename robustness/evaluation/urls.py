"""Evaluation API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from robustness.evaluation.apis import views

urlpatterns = [
    path("evaluations/", views.EvaluationListApi.as_view(), name="api-evaluation-list"),
    path("evaluations/start/", views.EvaluationStartApi.as_view(), name="api-evaluation-start"),
    path("evaluations/<int:run_id>/", views.EvaluationDetailApi.as_view(), name="api-evaluation-detail"),
]
