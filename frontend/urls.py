from django.urls import path

from frontend.pages import datasets

app_name = "frontend"

urlpatterns = [
    path("", datasets.dataset_list, name="dataset_list"),
]
