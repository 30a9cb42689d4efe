from django.urls import path

from jobs.apis import views

urlpatterns = [
    path("jobs/", views.JobListApi.as_view(), name="api-job-list"),
    path("jobs/<int:job_id>/", views.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelApi.as_view(), name="api-job-cancel"),
]
