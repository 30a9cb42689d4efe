"""Input and output serializers of the synthetic API."""

from typing import Any

from rest_framework import serializers

from curation.apis.serializers import sample_media_path
from curation.models import Split
from curation.synthetic.models import GenerationMode, ReviewStatus


class BatchInputSerializer(serializers.Serializer):
    """A generation plan; settings left out take their defaults (GET the batch to see every value used)."""

    mode = serializers.ChoiceField(choices=GenerationMode.values)
    generator = serializers.CharField(required=False, help_text="diffusers:<hub id or folder>; composite: omit.")
    name = serializers.CharField(required=False, allow_blank=True)
    per_class = serializers.IntegerField(required=False)
    classes = serializers.ListField(child=serializers.CharField(), required=False)
    seed = serializers.IntegerField(required=False)
    steps = serializers.IntegerField(required=False)
    guidance = serializers.FloatField(required=False)
    strength = serializers.FloatField(required=False, allow_null=True)
    negative_prompt = serializers.CharField(required=False, allow_blank=True)
    prompt_template = serializers.CharField(required=False)
    contexts = serializers.ListField(child=serializers.CharField(), required=False)
    avoid = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per class, background ids (composite) or context words (prompts) to avoid.",
    )
    parent_split = serializers.ChoiceField(choices=["train", "val", "test", "unassigned", "all"], required=False)
    scheduler = serializers.CharField(required=False)
    device = serializers.CharField(required=False)
    precision = serializers.CharField(required=False)
    width = serializers.IntegerField(required=False, allow_null=True)
    height = serializers.IntegerField(required=False, allow_null=True)
    flag_model = serializers.IntegerField(required=False, allow_null=True, help_text="Trained model for flags.")
    flag_encoder = serializers.CharField(
        required=False, allow_null=True, help_text="Or CLIP for flags: open_clip:<arch>:<tag or path>."
    )
    spurious_report = serializers.IntegerField(
        required=False, allow_null=True, help_text="Take the avoid lists from this spurious-feature report."
    )
    slice_report = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="Target a failure slice (with `slice`): its class, in other classes' surroundings "
        "(docs/METHODS.md §13). Settings given here win over the slice's.",
    )  # fmt: skip
    slice = serializers.IntegerField(required=False, allow_null=True, help_text="The slice's rank number.")
    parents = serializers.ChoiceField(
        choices=["train", "slice"], required=False,
        help_text="Slice plans: parents from the class's train split (default) or the slice's own held-out samples.",
    )  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("slice_report") is None) != (attrs.get("slice") is None):
            raise serializers.ValidationError("slice_report and slice go together.")
        if attrs.get("slice_report") is not None and attrs.get("spurious_report") is not None:
            raise serializers.ValidationError("Pick one source: spurious_report or slice_report.")
        return attrs

    def as_params(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        for key in ("name", "spurious_report", "slice_report", "slice", "parents"):
            data.pop(key, None)
        if "flag_model" in data:
            data["flag_model_id"] = data.pop("flag_model")
        return data


class BatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField(source="version_id")
    mode = serializers.CharField()
    generator = serializers.CharField()
    generator_spec = serializers.JSONField()
    params = serializers.JSONField()
    plan_source = serializers.CharField()
    spurious_report = serializers.IntegerField(source="spurious_report_id", allow_null=True)
    slice_report = serializers.IntegerField(source="slice_report_id", allow_null=True)
    slice = serializers.IntegerField(source="slice_number", allow_null=True)
    planned = serializers.SerializerMethodField()
    skipped = serializers.JSONField()
    counts = serializers.JSONField(help_text="Images per review status, flagged, planned and skipped.")
    flags_summary = serializers.JSONField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    job_status = serializers.SerializerMethodField()
    applied_version = serializers.IntegerField(source="applied_version_id", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_planned(self, batch: Any) -> int:
        return len(batch.plan)

    def get_job_status(self, batch: Any) -> str | None:
        return batch.job.status if batch.job_id else None


class ImageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    position = serializers.IntegerField()
    sample = serializers.IntegerField(source="sample_id")
    sha256 = serializers.CharField(source="sample.sha256")
    intended_class = serializers.CharField()
    mode = serializers.CharField()
    model = serializers.CharField()
    prompt = serializers.CharField()
    negative_prompt = serializers.CharField()
    seed = serializers.IntegerField()
    steps = serializers.IntegerField(allow_null=True)
    guidance = serializers.FloatField(allow_null=True)
    strength = serializers.FloatField(allow_null=True)
    parent_sample = serializers.IntegerField(source="parent_sample_id", allow_null=True)
    background = serializers.CharField()
    warnings = serializers.JSONField()
    status = serializers.CharField()
    flag = serializers.JSONField()
    flagged = serializers.BooleanField()
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_image_url(self, image: Any) -> str:
        return sample_media_path(image.sample_id, "image")

    def get_thumbnail_url(self, image: Any) -> str:
        return sample_media_path(image.sample_id, "thumbnail")


class ImagePageOutputSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ImageOutputSerializer(many=True)


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewStatus.values)


class BulkReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewStatus.values)
    images = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Default: all.")
    only_pending = serializers.BooleanField(required=False, default=True)
    flagged = serializers.BooleanField(required=False, allow_null=True, default=None)


class BulkReviewOutputSerializer(serializers.Serializer):
    changed = serializers.IntegerField()


class SyntheticApplyInputSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(required=False, allow_null=True)
    split = serializers.ChoiceField(choices=Split.choices, required=False, default=Split.TRAIN)


class ApplyOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    number = serializers.IntegerField()
    sample_count = serializers.IntegerField()
    operation_params = serializers.JSONField()
