"""Input and output serializers of the curation.masks API (views.py uses them)."""

from __future__ import annotations

from rest_framework import serializers

from core.params import params_serializer
from curation.masks.models import MaskSet
from curation.masks.params import MaskParams

MaskSetStartInputSerializer = params_serializer(MaskParams, name="MaskSetStartInputSerializer")


class MaskSetOutputSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version_id", read_only=True)
    job = serializers.IntegerField(source="job_id", read_only=True, allow_null=True)
    coverage = serializers.SerializerMethodField(help_text="Share of the members the provider gave a mask (done).")
    median_iou = serializers.SerializerMethodField(
        help_text="Median IoU against the dataset's own masks; null when the version has none to compare."
    )

    class Meta:
        model = MaskSet
        fields = [
            "id", "version", "provider", "provider_spec", "status", "job", "planned", "done", "with_mask",
            "coverage", "median_iou", "quality", "seconds", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_coverage(self, mask_set: MaskSet) -> float | None:
        return mask_set.with_mask / mask_set.done if mask_set.done else None

    def get_median_iou(self, mask_set: MaskSet) -> float | None:
        quality = mask_set.quality or {}
        value = quality.get("median_iou") if isinstance(quality, dict) else None
        return float(value) if value is not None else None


class MaskSetListOutputSerializer(serializers.Serializer):
    results = MaskSetOutputSerializer(many=True)


class MaskSetAcceptedOutputSerializer(serializers.Serializer):
    mask_set = MaskSetOutputSerializer()
    job = serializers.IntegerField(allow_null=True, help_text="The estimate_masks job; null for a ready set.")
    url = serializers.CharField(allow_null=True, help_text="The job's API URL; null for a ready set.")
