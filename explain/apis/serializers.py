"""Input and output serializers of the explain API (views.py uses them)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from explain.job_kinds import EXPLANATION
from explain.models import ExplanationRun, SampleExplanation
from explain.selectors import (
    explanation_scores_summary,
    explanation_summary,
    raw_map_files,
)
from jobs.runs.apis import (
    RunOutputSerializer,
    run_started_serializer,
)


def raw_map_file_url(run_id: int, name: str) -> str:
    return f"/api/explanations/{run_id}/raw/{name}"


class RawMapFileOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    samples = serializers.IntegerField(help_text="Samples whose maps the file holds.")
    url = serializers.CharField(help_text="Download: .npz of sample_ids (N), raw (N x h x w float32), targets (N).")


class ExplanationRunOutputSerializer(RunOutputSerializer):
    run_kind = EXPLANATION
    model_deleted = serializers.BooleanField(read_only=True)

    class Meta:
        model = ExplanationRun
        fields: tuple[str, ...] = (
            "id", "trained_model", "model_deleted", "model_name", "model_arch", "model_classes", "model_img_size",
            "version", "method", "target_layer", "split", "sample_count", "status", "job", "params", "created_at",
            "finished_at", "report_url",
        )  # fmt: skip
        read_only_fields: tuple[str, ...] = fields


class ExplanationRunDetailOutputSerializer(ExplanationRunOutputSerializer):
    headline = serializers.SerializerMethodField(help_text="Overall scores and background reliance per class.")
    scores = serializers.SerializerMethodField(help_text="overall, per_class, misclassified, correct, by_background.")
    raw_files = serializers.SerializerMethodField()

    class Meta(ExplanationRunOutputSerializer.Meta):
        fields = (*ExplanationRunOutputSerializer.Meta.fields, "headline", "scores", "raw_files")
        read_only_fields = fields

    def get_headline(self, run: ExplanationRun) -> dict[str, Any]:
        return explanation_summary(run)

    def get_scores(self, run: ExplanationRun) -> dict[str, Any]:
        return run.summary or explanation_scores_summary(run)

    @extend_schema_field(RawMapFileOutputSerializer(many=True))
    def get_raw_files(self, run: ExplanationRun) -> list[dict[str, Any]]:
        """The .npz files of unscaled maps (one per batch), with their download URLs."""
        return [
            {"name": f["name"], "samples": f["samples"], "url": raw_map_file_url(run.pk, f["name"])}
            for f in raw_map_files(run)
        ]


ExplanationStartedOutputSerializer = run_started_serializer(
    "ExplanationStartedOutputSerializer", "explanation_run", module=__name__, more=("target_layer",)
)


class SampleExplanationOutputSerializer(serializers.ModelSerializer):
    sample = serializers.IntegerField(source="sample_id")
    images = serializers.SerializerMethodField(help_text="URLs of the model input, heatmap and overlay PNGs.")
    raw_url = serializers.SerializerMethodField(help_text="The .npz with this sample's raw map (row raw_index).")

    class Meta:
        model = SampleExplanation
        fields = (
            "id", "sample", "label", "predicted", "explained_class", "confidence", "correct", "has_mask",
            "own_background", "pointing_hit", "energy_inside", "background_reliance", "road_combined",
            "confidence_drop", "raw_key", "raw_index", "raw_url", "images",
        )  # fmt: skip
        read_only_fields = fields

    def get_raw_url(self, row: SampleExplanation) -> str:
        return raw_map_file_url(row.run_id, row.raw_key.rsplit("/", 1)[-1])

    def get_images(self, row: SampleExplanation) -> dict[str, str]:
        base = f"/explanations/{row.run_id}/samples/{row.sample_id}"
        return {kind: f"{base}/{kind}.png" for kind in ("input", "heatmap", "overlay")}


class SampleExplanationPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SampleExplanationOutputSerializer(many=True)
