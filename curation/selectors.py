"""Reads of datasets, versions and samples that are more than a `get`."""

from django.db.models import QuerySet

from curation.models import Dataset, DatasetVersion, VersionSample


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.all().order_by("name")


def version_latest(dataset: Dataset) -> DatasetVersion | None:
    return dataset.versions.order_by("-number").first()


def sample_list(
    *,
    version: DatasetVersion,
    label: str | None = None,
    split: str | None = None,
    source: str | None = None,
    after_sample_id: int | None = None,
    limit: int | None = None,
) -> QuerySet[VersionSample]:
    """Members of a version, filtered, in sample-id order (keyset pagination on sample id).

    Args:
        version: the version whose members are listed.
        label / split / source: exact-match filters; None means any.
        after_sample_id: return only members with a larger sample id (the keyset cursor).
        limit: page size; None returns the whole (lazy) queryset.
    """
    members = VersionSample.objects.filter(version=version).select_related("sample")
    if label:
        members = members.filter(label=label)
    if split:
        members = members.filter(split=split)
    if source:
        members = members.filter(sample__source=source)
    if after_sample_id is not None:
        members = members.filter(sample_id__gt=after_sample_id)
    members = members.order_by("sample_id")
    return members[:limit] if limit is not None else members
