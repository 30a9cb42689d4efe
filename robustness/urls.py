from django.urls import path

from robustness import apis

urlpatterns = [
    path("training-runs/", apis.TrainingRunListApi.as_view(), name="api-training-run-list"),
    path("training-runs/start/", apis.TrainingRunStartApi.as_view(), name="api-training-run-start"),
    path("training-runs/<int:run_id>/", apis.TrainingRunDetailApi.as_view(), name="api-training-run-detail"),
    path("trained-models/", apis.TrainedModelListApi.as_view(), name="api-trained-model-list"),
    path(
        "trained-models/<int:trained_model_id>/", apis.TrainedModelDetailApi.as_view(), name="api-trained-model-detail"
    ),
]
