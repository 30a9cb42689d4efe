"""Output serializers of the curation read API, one per response shape.

Each serializer maps a row (or a selector's result) to JSON without queries of its own: the
view hands in rows whose relations the selector already joined. Fields named `parent`, `label`
or `source` shadow attributes of DRF's Field in the type stubs only (the serializer metaclass
collects declared fields), hence their `type: ignore[assignment]`.
"""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from curation.models import DatasetVersion, Sample, SampleSource, Split


def sample_media_path(sample_id: int, kind: str) -> str:
    """Path of a sample's image, thumbnail or mask (`kind`) as served by the media pages (frontend:sample_<kind>)."""
    return reverse(f"frontend:sample_{kind}", args=[sample_id])


class VersionSummaryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True, help_text="Parent version id.")  # type: ignore[assignment]
    operation = serializers.CharField()
    sample_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class DatasetListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    classes = serializers.ListField(child=serializers.CharField())
    version_count = serializers.IntegerField()
    latest_version = serializers.IntegerField(
        source="latest_version_id", allow_null=True, help_text="Id of the highest-numbered version."
    )
    created_at = serializers.DateTimeField()


class DatasetPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DatasetListOutputSerializer(many=True)


class DatasetDetailOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    classes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    versions = VersionSummaryOutputSerializer(many=True, help_text="Every version, newest first.")


class VersionListOutputSerializer(VersionSummaryOutputSerializer):
    dataset = serializers.IntegerField(source="dataset_id")
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class VersionPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = VersionListOutputSerializer(many=True)


class VersionDetailOutputSerializer(VersionListOutputSerializer):
    dataset_name = serializers.CharField(source="dataset.name")
    operation_params = serializers.JSONField()
    job = serializers.IntegerField(source="job_id", allow_null=True, help_text="The job that made this version.")
    class_counts = serializers.SerializerMethodField(
        help_text='Member counts per split, then per primary label ("" counts unlabeled members).'
    )

    @extend_schema_field(serializers.DictField(child=serializers.DictField(child=serializers.IntegerField())))
    def get_class_counts(self, version: DatasetVersion) -> dict[str, dict[str, int]]:
        """Computed by the `version_class_counts` selector and handed in through the context."""
        return self.context["class_counts"]


class LabelEntryOutputSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    origin = serializers.CharField()


class SampleListItemOutputSerializer(serializers.Serializer):
    """A version member: the sample's facts with that version's split and labels."""

    id = serializers.IntegerField(source="sample_id")
    original_name = serializers.CharField(source="sample.original_name")
    width = serializers.IntegerField(source="sample.width")
    height = serializers.IntegerField(source="sample.height")
    source = serializers.ChoiceField(choices=SampleSource.choices, source="sample.source")  # type: ignore[assignment]
    split = serializers.ChoiceField(choices=Split.choices)
    label = serializers.CharField(help_text="Primary label; empty when unlabeled.")  # type: ignore[assignment]
    labels = LabelEntryOutputSerializer(many=True, help_text="The multi-label set with each label's origin.")
    thumbnail_url = serializers.SerializerMethodField()
    sort_value = serializers.SerializerMethodField(
        help_text="In an order by a run's values (`sort` with `sort_run`), this member's value; null otherwise."
    )

    def get_thumbnail_url(self, member: Any) -> str:
        return sample_media_path(member.sample_id, "thumbnail")

    def get_sort_value(self, member: Any) -> float | None:
        return getattr(member, "sort_value", None)


def sample_list_items(members: list[Any]) -> list[dict[str, Any]]:
    """What `SampleListItemOutputSerializer(members, many=True).data` gives (the same keys, values and order),
    written directly: a page of 50 members costs a fifth of a millisecond instead of two. The serializer stays the
    schema (tests hold the two equal)."""
    head, _, tail = sample_media_path(_ID_SENTINEL, "thumbnail").rpartition(str(_ID_SENTINEL))
    return [
        {
            "id": member.sample_id,
            "original_name": str(member.sample.original_name),
            "width": int(member.sample.width),
            "height": int(member.sample.height),
            "source": member.sample.source,
            "split": member.split,
            "label": str(member.label),
            "labels": [{"label": str(entry["label"]), "origin": str(entry["origin"])} for entry in member.labels],
            "thumbnail_url": f"{head}{member.sample_id}{tail}",
            "sort_value": getattr(member, "sort_value", None),
        }
        for member in members
    ]


_ID_SENTINEL = 9_876_543_210  # a sample id put in a reversed URL once, then replaced by each member's


class SamplePageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last page.")
    results = SampleListItemOutputSerializer(many=True)


class SampleMembershipOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="version_id")
    version_number = serializers.IntegerField(source="version.number")
    split = serializers.ChoiceField(choices=Split.choices)
    label = serializers.CharField()  # type: ignore[assignment]
    label_origin = serializers.CharField()
    labels = LabelEntryOutputSerializer(many=True)


class SampleDetailOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    sha256 = serializers.CharField()
    original_name = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()
    mode = serializers.CharField()
    file_size = serializers.IntegerField()
    source = serializers.ChoiceField(choices=SampleSource.choices)  # type: ignore[assignment]
    caption = serializers.CharField()
    provenance = serializers.JSONField(help_text="Original path, generator, prompt, seed… as recorded at ingest.")
    aliases = serializers.SerializerMethodField(help_text="Other file names of exact duplicates of this sample.")
    created_at = serializers.DateTimeField()
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    mask_url = serializers.SerializerMethodField()
    memberships = SampleMembershipOutputSerializer(many=True, help_text="Versions holding this sample, newest first.")

    def get_aliases(self, sample: Sample) -> list[str]:
        return [alias.original_name for alias in sample.aliases.all()]

    def get_image_url(self, sample: Sample) -> str:
        return sample_media_path(sample.pk, "image")

    def get_thumbnail_url(self, sample: Sample) -> str:
        return sample_media_path(sample.pk, "thumbnail")

    def get_mask_url(self, sample: Sample) -> str | None:
        return sample_media_path(sample.pk, "mask") if sample.mask_key else None
