from django.urls import path

from jobs import apis

urlpatterns = [
    path("jobs/", apis.JobListApi.as_view(), name="api-job-list"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/cancel/", apis.JobCancelApi.as_view(), name="api-job-cancel"),
]
