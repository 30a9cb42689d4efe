"""Reads of datasets, versions and samples that are more than a `get`."""

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from curation.models import Dataset, DatasetVersion, Sample, VersionSample


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


def dataset_list_with_version_stats() -> QuerySet[Dataset]:
    """Datasets annotated with `version_count` and `latest_version_id` (None without versions)."""
    latest = DatasetVersion.objects.filter(dataset=OuterRef("pk")).order_by("-number").values("pk")[:1]
    return Dataset.objects.select_related("owner").annotate(
        version_count=Count("versions", distinct=True), latest_version_id=Subquery(latest)
    )


def dataset_versions(dataset: Dataset) -> QuerySet[DatasetVersion]:
    """A dataset's versions, newest first."""
    return dataset.versions.select_related("created_by").order_by("-number")


def version_class_counts(version: DatasetVersion) -> dict[str, dict[str, int]]:
    """Member counts per split and primary label: {split: {label: count}}; "" is the unlabeled key."""
    rows = (
        VersionSample.objects.filter(version=version)
        .values_list("split", "label")
        .annotate(count=Count("pk"))
        .order_by("split", "label")
    )
    counts: dict[str, dict[str, int]] = {}
    for split, label, count in rows:
        counts.setdefault(split, {})[label] = count
    return counts


def dataset_get(dataset_id: int) -> Dataset | None:
    """A dataset with its owner and its versions (newest first) loaded, or None."""
    versions = Prefetch("versions", queryset=DatasetVersion.objects.order_by("-number"))
    return Dataset.objects.select_related("owner").prefetch_related(versions).filter(pk=dataset_id).first()


def version_get(version_id: int) -> DatasetVersion | None:
    return DatasetVersion.objects.select_related("dataset", "created_by").filter(pk=version_id).first()


def sample_get(sample_id: int) -> Sample | None:
    """A sample with its aliases and its memberships (newest version first) loaded, or None."""
    memberships = Prefetch(
        "memberships", queryset=VersionSample.objects.select_related("version").order_by("-version__number")
    )
    return Sample.objects.prefetch_related("aliases", memberships).filter(pk=sample_id).first()
