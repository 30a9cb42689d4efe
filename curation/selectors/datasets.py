"""Reads of datasets and their versions: lists (without the ones marked `deleting`), summaries for the
browsing pages, and `get`s that load what the pages show.

Lists leave out datasets and versions marked `deleting` (a deletion job is removing them); a detail
`get` still finds them, so their deletion can be followed and asked for again.
"""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from curation.models import Dataset, DatasetVersion


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.filter(deleting=False).order_by("name")


def version_latest(dataset: Dataset) -> DatasetVersion | None:
    return dataset.versions.filter(deleting=False).order_by("-number").first()


def dataset_list_with_version_stats() -> QuerySet[Dataset]:
    """Datasets annotated with `version_count` and `latest_version_id` (None without versions)."""
    latest = DatasetVersion.objects.filter(dataset=OuterRef("pk"), deleting=False).order_by("-number").values("pk")[:1]
    kept = Q(versions__deleting=False)
    return (
        Dataset.objects.filter(deleting=False)
        .select_related("owner")
        .annotate(version_count=Count("versions", filter=kept, distinct=True), latest_version_id=Subquery(latest))
    )


def dataset_versions(dataset: Dataset) -> QuerySet[DatasetVersion]:
    """A dataset's versions, newest first."""
    return dataset.versions.filter(deleting=False).select_related("created_by").order_by("-number")


def dataset_get(dataset_id: int) -> Dataset | None:
    """A dataset with its owner and its versions (newest first) loaded, or None."""
    versions = Prefetch("versions", queryset=DatasetVersion.objects.filter(deleting=False).order_by("-number"))
    return Dataset.objects.select_related("owner").prefetch_related(versions).filter(pk=dataset_id).first()


def version_get(version_id: int) -> DatasetVersion | None:
    return DatasetVersion.objects.select_related("dataset", "created_by").filter(pk=version_id).first()


def dataset_summary_list() -> QuerySet[Dataset]:
    """Datasets by name, annotated from their latest version in one query:
    `latest_version_number`, `latest_sample_count` (None without versions) and `version_count`."""
    latest = DatasetVersion.objects.filter(dataset=OuterRef("pk"), deleting=False).order_by("-number")
    version_count = (
        DatasetVersion.objects.filter(dataset=OuterRef("pk"), deleting=False)
        .order_by()
        .values("dataset")
        .annotate(n=Count("pk"))
    )
    return (
        Dataset.objects.filter(deleting=False)
        .order_by("name")
        .annotate(
            latest_version_number=Subquery(latest.values("number")[:1]),
            latest_sample_count=Subquery(latest.values("sample_count")[:1]),
            version_count=Coalesce(Subquery(version_count.values("n")), 0),
        )
    )


def version_by_number(*, dataset: Dataset, number: int | None) -> DatasetVersion | None:
    """Version `number` of `dataset`, or the latest one when `number` is None; None if missing."""
    versions = dataset.versions.select_related("parent")
    if number is None:
        return versions.filter(deleting=False).order_by("-number").first()
    return versions.filter(number=number).first()
