"""Input and output serializers of the robustness.evaluation API (views.py uses them)."""

from typing import Any

from rest_framework import serializers

from jobs.runs.apis import RunOutputSerializer, run_started_serializer
from robustness.evaluation.job_kinds import EVALUATION
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.selectors import (
    corruption_table,
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


EvaluationStartedOutputSerializer = run_started_serializer(
    "EvaluationStartedOutputSerializer", "evaluation_run", module=__name__
)
