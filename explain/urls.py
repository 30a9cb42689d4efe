"""Explanation (Grad-CAM) API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from explain import apis

urlpatterns = [
    path("explanations/", apis.ExplanationListApi.as_view(), name="api-explanation-list"),
    path("explanations/start/", apis.ExplanationStartApi.as_view(), name="api-explanation-start"),
    path("explanations/<int:run_id>/", apis.ExplanationDetailApi.as_view(), name="api-explanation-detail"),
    path(
        "explanations/<int:run_id>/samples/",
        apis.ExplanationSampleListApi.as_view(),
        name="api-explanation-samples",
    ),
    path(
        "explanations/<int:run_id>/raw/<str:file_name>",
        apis.ExplanationRawMapsApi.as_view(),
        name="api-explanation-raw-maps",
    ),
]
