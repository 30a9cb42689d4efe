"""Input and output serializers of the curation.exports API (views.py uses them)."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.params import params_serializer
from curation.exports.models import Export, ExportFormat
from curation.exports.params import ExportParams


def download_path(export_id: int, name: str) -> str:
    return reverse("api-export-download", args=[export_id, name])


@extend_schema_field(serializers.ChoiceField(choices=ExportFormat.choices))
class ExportFormatField(serializers.CharField):
    """The format, validated by the service (so an unknown one answers code invalid_format)."""


class ExportCreateInputSerializer(params_serializer(ExportParams, name="ExportParamsInputSerializer")):  # type: ignore[misc]
    """ExportParams (core.params); the format stays a string the service checks (code invalid_format)."""

    format = ExportFormatField(help_text="imagefolder-zip, csv, jsonl, hf-imagefolder or webdataset.")


class ExportFileOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField(help_text="Download URL (Range requests supported).")


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version_id")
    dataset = serializers.IntegerField(source="version.dataset_id")
    format = ExportFormatField()
    options = serializers.JSONField()
    status = serializers.CharField(help_text="The job's status: queued, running, succeeded, failed, cancelled.")
    progress = serializers.FloatField(source="job.progress", allow_null=True, default=None)
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    sample_count = serializers.IntegerField()
    size = serializers.IntegerField(help_text="Bytes of the produced files together.")
    files = serializers.SerializerMethodField(help_text="Produced files, empty until the job has succeeded.")
    checksum_url = serializers.SerializerMethodField(help_text="SHA256SUMS of the files (sha256sum -c format).")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    is_expired = serializers.BooleanField()

    @extend_schema_field(ExportFileOutputSerializer(many=True))
    def get_files(self, export: Export) -> list[dict[str, Any]]:
        return [
            {"name": f["name"], "size": f["size"], "sha256": f["sha256"], "url": download_path(export.pk, f["name"])}
            for f in export.files
        ]

    def get_checksum_url(self, export: Export) -> str | None:
        return download_path(export.pk, "SHA256SUMS") if export.checksum_key else None


class ExportPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ExportOutputSerializer(many=True)


class ExportAcceptedOutputSerializer(serializers.Serializer):
    export = ExportOutputSerializer()
    job = serializers.IntegerField(help_text="Id of the export job.")
    url = serializers.CharField(help_text="Where to follow the job: /api/jobs/{id}/.")


class ExportFilterSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="Only exports of this version.")
    # Not `format`: DRF reads that query parameter as a renderer override (?format=json).
    export_format = serializers.ChoiceField(choices=ExportFormat.choices, required=False, help_text="Only this format.")
