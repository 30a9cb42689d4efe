"""Input and output serializers of the explain.slices API (views.py uses them)."""

from typing import Any

from rest_framework import serializers

from explain.slices.job_kinds import SLICES
from explain.slices.models import SliceReport
from explain.slices.selectors import slice_compare_rows, slice_scores
from explain.slices.services.results import report_headline
from jobs.runs.apis import RunOutputSerializer, run_started_serializer
from robustness.models import TrainedModel


class SliceReportOutputSerializer(RunOutputSerializer):
    run_kind = SLICES
    model_name = serializers.CharField(source="trained_model.name", read_only=True)

    class Meta:
        model = SliceReport
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "split", "embedding_set", "sample_count", "status", "job",
            "params", "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields


class SliceReportDetailOutputSerializer(SliceReportOutputSerializer):
    summary = serializers.SerializerMethodField()
    slices = serializers.SerializerMethodField()
    class_accuracy = serializers.SerializerMethodField()
    compare = serializers.SerializerMethodField()

    class Meta(SliceReportOutputSerializer.Meta):
        fields = (*SliceReportOutputSerializer.Meta.fields, "summary", "class_accuracy", "slices", "compare")
        read_only_fields = fields

    def get_summary(self, report: SliceReport) -> dict[str, Any]:
        return report_headline(report.results or {})

    def get_class_accuracy(self, report: SliceReport) -> dict[str, Any]:
        return (report.results or {}).get("class_accuracy") or {}

    def get_slices(self, report: SliceReport) -> list[dict[str, Any]]:
        """Ranked slices, worst first: class, size, accuracy with its Wilson interval, gap, members, gallery."""
        return (report.results or {}).get("slices") or []

    def get_compare(self, report: SliceReport) -> list[dict[str, Any]]:
        """Per re-scoring model: its status and each slice's accuracy before (this report's model) and after."""
        return [
            {"slice_score": score.pk, "trained_model": score.trained_model_id, "model_name": score.trained_model.name,
             "status": score.status, "accuracy": (score.results or {}).get("accuracy"),
             "slices": slice_compare_rows(report, score) if score.results else []}
            for score in slice_scores(report)
        ]  # fmt: skip


SliceReportStartedOutputSerializer = run_started_serializer(
    "SliceReportStartedOutputSerializer", "slice_report", module=__name__
)


class SliceScoreStartInputSerializer(serializers.Serializer):
    trained_model = serializers.PrimaryKeyRelatedField(queryset=TrainedModel.objects.all())


class SliceScoreStartedOutputSerializer(serializers.Serializer):
    slice_score = serializers.IntegerField()
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField()
