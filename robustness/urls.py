from django.urls import path

from robustness.apis import views

urlpatterns = [
    path("training-runs/", views.TrainingRunListApi.as_view(), name="api-training-run-list"),
    path("training-runs/start/", views.TrainingRunStartApi.as_view(), name="api-training-run-start"),
    path("training-runs/<int:run_id>/", views.TrainingRunDetailApi.as_view(), name="api-training-run-detail"),
    path("trained-models/", views.TrainedModelListApi.as_view(), name="api-trained-model-list"),
    path(
        "trained-models/<int:trained_model_id>/", views.TrainedModelDetailApi.as_view(), name="api-trained-model-detail"
    ),
]
