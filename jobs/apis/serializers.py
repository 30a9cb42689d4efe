"""Input and output serializers of the jobs API (views.py uses them)."""

from rest_framework import serializers

from jobs.models import Job


class JobOutputSerializer(serializers.ModelSerializer):
    requested_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = Job
        fields = (
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "error",
            "params",
            "result",
            "log_tail",
            "queue",
            "attempts",
            "cancel_requested",
            "is_finished",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        )
        read_only_fields = fields


class JobPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobOutputSerializer(many=True)


class JobAcceptedOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="Id of the job.")
    status = serializers.CharField()
    url = serializers.CharField(help_text="Where to follow the job: /api/jobs/{id}/.")
