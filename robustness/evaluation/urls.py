"""Evaluation API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from robustness.evaluation import apis

urlpatterns = [
    path("evaluations/", apis.EvaluationListApi.as_view(), name="api-evaluation-list"),
    path("evaluations/start/", apis.EvaluationStartApi.as_view(), name="api-evaluation-start"),
    path("evaluations/<int:run_id>/", apis.EvaluationDetailApi.as_view(), name="api-evaluation-detail"),
]
