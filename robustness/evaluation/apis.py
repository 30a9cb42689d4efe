"""REST API of evaluation runs: list, start, detail (one view per operation, on the run kit's bases).

Starting needs the run_gpu_jobs capability (admins); reading needs view. A request the service
refuses (classes that do not match the version, unknown suites or parameters, a baseline on
another dataset) is a structured 400 and creates nothing.
"""

from typing import Any

from rest_framework import serializers

from jobs.runs.apis import RunDetailApi, RunListApi, RunOutputSerializer, RunStartApi, run_started_serializer
from robustness.evaluation.job_kinds import EVALUATION
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.selectors import (
    corruption_table,
    evaluation_run_get,
    evaluation_run_list,
    evaluation_summary,
)


class EvaluationRunOutputSerializer(RunOutputSerializer):
    run_kind = EVALUATION
    model_name = serializers.CharField(source="trained_model.name", read_only=True)

    class Meta:
        model = EvaluationRun
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "suites", "split", "sample_count", "baseline", "status",
            "job", "params", "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields


class EvaluationRunDetailOutputSerializer(EvaluationRunOutputSerializer):
    summary = serializers.SerializerMethodField()
    corruption_table = serializers.SerializerMethodField()
    results = serializers.JSONField(read_only=True)

    class Meta(EvaluationRunOutputSerializer.Meta):
        fields = (*EvaluationRunOutputSerializer.Meta.fields, "summary", "corruption_table", "results")
        read_only_fields = fields

    def get_summary(self, run: EvaluationRun) -> dict[str, Any]:
        return evaluation_summary(run)

    def get_corruption_table(self, run: EvaluationRun) -> dict[str, Any] | None:
        return corruption_table(run)


class EvaluationListApi(RunListApi):
    """Evaluation runs, newest first, optionally of one version or one trained model (cursor pagination)."""

    run_kind, tag, operation_id = EVALUATION, "evaluations", "evaluations_list"
    output_serializer = EvaluationRunOutputSerializer
    rows = staticmethod(evaluation_run_list)


EvaluationStartedOutputSerializer = run_started_serializer(
    "EvaluationStartedOutputSerializer", "evaluation_run", module=__name__
)


class EvaluationStartApi(RunStartApi):
    """Start evaluating a trained model on a dataset version; returns 202 with the run and its job."""

    run_kind, tag = EVALUATION, "evaluations"
    started_serializer, started_id = EvaluationStartedOutputSerializer, "evaluation_run"
    refusals = "classes_mismatch, invalid_params, ..."


class EvaluationDetailApi(RunDetailApi):
    """One run: parameters, status, the headline summary, the mCE table and every suite's results."""

    run_kind, tag = EVALUATION, "evaluations"
    detail_serializer = EvaluationRunDetailOutputSerializer
    row = staticmethod(evaluation_run_get)
