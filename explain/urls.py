"""Explanation (Grad-CAM) API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from explain.apis import views

urlpatterns = [
    path("explanations/", views.ExplanationListApi.as_view(), name="api-explanation-list"),
    path("explanations/start/", views.ExplanationStartApi.as_view(), name="api-explanation-start"),
    path("explanations/<int:run_id>/", views.ExplanationDetailApi.as_view(), name="api-explanation-detail"),
    path(
        "explanations/<int:run_id>/samples/",
        views.ExplanationSampleListApi.as_view(),
        name="api-explanation-samples",
    ),
    path(
        "explanations/<int:run_id>/raw/<str:file_name>",
        views.ExplanationRawMapsApi.as_view(),
        name="api-explanation-raw-maps",
    ),
]
