"""Input and output serializers of the curation.deletion API (views.py uses them)."""

from rest_framework import serializers

from curation.deletion.models import Deletion
from jobs.apis import JobAcceptedOutputSerializer


class DeletionAcceptedOutputSerializer(JobAcceptedOutputSerializer):
    deletion = serializers.IntegerField(help_text="The audit row (GET /api/deletions/).")


class DeletionOutputSerializer(serializers.ModelSerializer):
    job_status = serializers.CharField(source="job.status", default=None, allow_null=True)

    class Meta:
        model = Deletion
        fields = [
            "id",
            "target",
            "target_id",
            "target_name",
            "requested_by_name",
            "job",
            "job_status",
            "status",
            "rows",
            "files",
            "integrity",
            "created_at",
            "finished_at",
        ]


class DeletionPageOutputSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = DeletionOutputSerializer(many=True)
