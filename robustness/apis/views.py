"""REST API of training: start a run, list and read runs, list and read trained models (one view per operation)."""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import ReadApi, RunGpuJobsApi
from core.pagination import CURSOR_PAGE_PARAMETERS, id_cursor_page
from core.params import param_help, params_fields, params_serializer
from curation.models import DatasetVersion
from robustness.apis.serializers import (
    TrainedModelOutputSerializer,
    TrainedModelPageOutputSerializer,
    TrainingRunOutputSerializer,
    TrainingRunPageOutputSerializer,
)
from robustness.params import TrainParams
from robustness.selectors import trained_model_get, trained_model_list, training_run_get, training_run_list

TRAIN_DEVICE_HELP = param_help(next(f for f in params_fields(TrainParams) if f.name == "device"))


ERRORS_AUTH = {401: error_response("Not authenticated."), 403: error_response("The role lacks the capability.")}
PAGE_RESPONSES = {404: error_response("not_found: an invalid cursor."), **ERRORS_AUTH}
DETAIL_ERRORS = {404: error_response("Unknown id (code not_found)."), **ERRORS_AUTH}


class TrainingRunStartApi(RunGpuJobsApi):
    """Start training a classifier on a dataset version (admins: run_gpu_jobs). Answers 201 with the run."""

    class InputSerializer(params_serializer(TrainParams, name="TrainParamsInputSerializer")):  # type: ignore[misc]
        # TrainParams (core.params); the device keeps its length limit. No docstring: it would become the
        # schema component's description.
        device = serializers.CharField(default="auto", max_length=32, help_text=TRAIN_DEVICE_HELP)

    @extend_schema(
        request=InputSerializer,
        responses={201: TrainingRunOutputSerializer, 400: error_response("validation_error."), **DETAIL_ERRORS},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        params = payload.as_params()
        version = DatasetVersion.objects.select_related("dataset").filter(pk=params.version_id).first()
        if version is None:
            raise NotFound("That dataset version does not exist.")
        from robustness.services.training import training_run_start  # noqa: PLC0415 - torch: loaded on use, not at start-up

        run = training_run_start(version=version, requested_by=cast(User, request.user), **params.start_kwargs())
        return Response(TrainingRunOutputSerializer(run).data, status=status.HTTP_201_CREATED)


class TrainingRunListApi(ReadApi):
    """Training runs, newest first (cursor pagination)."""

    @extend_schema(
        operation_id="training_runs_list",
        parameters=CURSOR_PAGE_PARAMETERS,
        responses={200: TrainingRunPageOutputSerializer, **PAGE_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return id_cursor_page(request, self, training_run_list(), TrainingRunOutputSerializer)


class TrainingRunDetailApi(ReadApi):
    """One training run: status, per-epoch metrics, checkpoints, what it was trained on."""

    @extend_schema(responses={200: TrainingRunOutputSerializer, **DETAIL_ERRORS})
    def get(self, request: Request, run_id: int) -> Response:
        run = training_run_get(run_id=run_id)
        if run is None:
            raise not_found("Training run", run_id)
        return Response(TrainingRunOutputSerializer(run).data)


class TrainedModelListApi(ReadApi):
    """Trained models, newest first (cursor pagination)."""

    @extend_schema(
        operation_id="trained_models_list",
        parameters=CURSOR_PAGE_PARAMETERS,
        responses={200: TrainedModelPageOutputSerializer, **PAGE_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return id_cursor_page(request, self, trained_model_list(), TrainedModelOutputSerializer)


class TrainedModelDetailApi(ReadApi):
    """One trained model: classes, input size, normalization, checkpoints, metrics."""

    @extend_schema(responses={200: TrainedModelOutputSerializer, **DETAIL_ERRORS})
    def get(self, request: Request, trained_model_id: int) -> Response:
        trained_model = trained_model_get(trained_model_id=trained_model_id)
        if trained_model is None:
            raise not_found("Trained model", trained_model_id)
        return Response(TrainedModelOutputSerializer(trained_model).data)
