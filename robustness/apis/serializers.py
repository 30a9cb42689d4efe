"""Input and output serializers of the robustness API (views.py uses them)."""

from rest_framework import serializers

from robustness.models import TrainedModel, TrainingRun


class TrainingRunOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="job.status", read_only=True)
    progress = serializers.FloatField(source="job.progress", read_only=True)
    error = serializers.CharField(source="job.error", read_only=True)
    job = serializers.IntegerField(source="job_id", read_only=True)
    version = serializers.IntegerField(source="version_id", read_only=True)
    trained_model = serializers.SerializerMethodField()
    requested_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = TrainingRun
        fields = (
            "id", "job", "status", "progress", "error", "version", "arch", "hyperparameters", "augmentation",
            "augmentation_spec", "seed", "device", "device_used", "precision", "code_version", "classes",
            "validation", "train_count", "val_count", "epoch_metrics", "best_epoch", "checkpoint_last_key",
            "checkpoint_best_key", "trained_model", "requested_by", "created_at",
        )  # fmt: skip
        read_only_fields = fields

    def get_trained_model(self, run: TrainingRun) -> int | None:
        trained_model = getattr(run, "trained_model", None)
        return trained_model.pk if trained_model is not None else None


class TrainedModelOutputSerializer(serializers.ModelSerializer):
    trained_on = serializers.IntegerField(source="trained_on_id", read_only=True)
    run = serializers.IntegerField(source="run_id", read_only=True)

    class Meta:
        model = TrainedModel
        fields = (
            "id", "name", "arch", "classes", "img_size", "normalization", "checkpoint_best_key",
            "checkpoint_last_key", "metrics", "trained_on", "run", "created_at",
        )  # fmt: skip
        read_only_fields = fields


class TrainingRunPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TrainingRunOutputSerializer(many=True)


class TrainedModelPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TrainedModelOutputSerializer(many=True)
