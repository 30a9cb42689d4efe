"""Curation API routes, mounted under /api/ (config/urls.py)."""

from django.urls import path

from curation.apis import datasets, imports

urlpatterns = [
    path("datasets/", datasets.DatasetListApi.as_view(), name="api-dataset-list"),
    path("datasets/imports/", imports.DatasetImportApi.as_view(), name="api-dataset-import"),
    path("datasets/<int:dataset_id>/", datasets.DatasetDetailApi.as_view(), name="api-dataset-detail"),
    path("datasets/<int:dataset_id>/versions/", datasets.VersionListApi.as_view(), name="api-version-list"),
    path("versions/<int:version_id>/", datasets.VersionDetailApi.as_view(), name="api-version-detail"),
    path("versions/<int:version_id>/samples/", datasets.SampleListApi.as_view(), name="api-sample-list"),
    path("samples/<int:sample_id>/", datasets.SampleDetailApi.as_view(), name="api-sample-detail"),
]
