"""Input and output serializers of the explain.spurious API (views.py uses them)."""

from typing import Any

from rest_framework import serializers

from explain.spurious.job_kinds import SPURIOUS
from explain.spurious.models import SpuriousReport
from explain.spurious.selectors import suspected_spurious_features
from explain.spurious.services.reports import report_headline
from jobs.runs.apis import RunOutputSerializer, run_started_serializer


class SpuriousReportOutputSerializer(RunOutputSerializer):
    run_kind = SPURIOUS
    model_name = serializers.CharField(source="trained_model.name", read_only=True)

    class Meta:
        model = SpuriousReport
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_name", "version", "split", "sample_count", "status", "job", "params",
            "created_at", "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields


class SuspectedFeatureOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    description = serializers.CharField()
    flip_rate = serializers.FloatField()
    null_flip_rate = serializers.FloatField()
    support = serializers.IntegerField()
    rank = serializers.IntegerField()


class SpuriousReportDetailOutputSerializer(SpuriousReportOutputSerializer):
    summary = serializers.SerializerMethodField()
    suspected = serializers.SerializerMethodField()
    rankings = serializers.SerializerMethodField()
    results = serializers.JSONField(read_only=True)

    class Meta(SpuriousReportOutputSerializer.Meta):
        fields = (*SpuriousReportOutputSerializer.Meta.fields, "summary", "suspected", "rankings", "results")
        read_only_fields = fields

    def get_summary(self, report: SpuriousReport) -> dict[str, Any]:
        return report_headline(report.results or {})

    def get_suspected(self, report: SpuriousReport) -> dict[str, Any]:
        """Per class, its suspected features in rank order (the selector the synthetic counter-examples use)."""
        by_class = suspected_spurious_features(report=report)
        return {name: SuspectedFeatureOutputSerializer(features, many=True).data for name, features in by_class.items()}

    def get_rankings(self, report: SpuriousReport) -> dict[str, Any]:
        """Per class: ranked features (flip and null rates, support, Wilson interval, the flip rule's verdict, the
        share of flips toward the swapped-in background's class with its lower bound, chance and bar, suspected),
        low-support ones."""
        return (report.results or {}).get("rankings") or {}


SpuriousReportStartedOutputSerializer = run_started_serializer(
    "SpuriousReportStartedOutputSerializer", "spurious_report", module=__name__
)
