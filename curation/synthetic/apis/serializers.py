"""Input and output serializers of the synthetic API."""

from typing import Any

from rest_framework import serializers

from core.params import params_serializer
from curation.apis.serializers import sample_media_path
from curation.models import Split
from curation.synthetic.models import ReviewStatus
from curation.synthetic.services.plans import PlanParams


class BatchInputSerializer(params_serializer(PlanParams, name="BatchInputBaseSerializer")):  # type: ignore[misc]
    """A generation plan; settings left out take their defaults (GET the batch to see every value used).

    The settings are generated from PlanParams (core.params); the batch's own fields follow."""

    # (the docstring is the OpenAPI description.) `given_values()` holds the settings the request gave, not their
    # defaults (a slice plan's own settings must not be overridden), keyed by PlanParams' field names.

    name = serializers.CharField(required=False, allow_blank=True)
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # As the API took them before: an empty negative prompt is allowed, an empty generator or a null class
        # list are not.
        self.fields["negative_prompt"].allow_blank = True
        self.fields["generator"].allow_blank = False
        self.fields["classes"].allow_null = False

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("slice_report") is None) != (attrs.get("slice") is None):
            raise serializers.ValidationError("slice_report and slice go together.")
        if attrs.get("slice_report") is not None and attrs.get("spurious_report") is not None:
            raise serializers.ValidationError("Pick one source: spurious_report or slice_report.")
        return attrs


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
