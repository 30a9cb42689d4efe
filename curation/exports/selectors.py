"""Reads for exports: the members to write (in keyset batches), readiness of a version, visibility."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.roles import Capability, user_can
from curation.exports.models import Export
from curation.models import DatasetVersion, Sample, VersionSample
from jobs.models import JobStatus

MEMBER_BATCH_SIZE = 2000
_MEMBER_FIELDS = ("sample_id", "split", "label", "label_origin", "labels")
_SAMPLE_FIELDS = (
    "pk", "sha256", "image_key", "mask_key", "original_name", "source", "caption", "provenance", "width", "height",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExportMember:
    """One member of a version with the sample facts an export writes."""

    sample_id: int
    split: str
    label: str
    label_origin: str
    labels: list[dict[str, str]]
    sha256: str
    image_key: str
    mask_key: str
    original_name: str
    source: str
    caption: str
    provenance: dict[str, Any]
    width: int
    height: int


def export_member_batches(
    version_id: int, *, split: str | None = None, batch_size: int = MEMBER_BATCH_SIZE
) -> Iterator[list[ExportMember]]:
    """A version's members in sample-id order, `batch_size` at a time (keyset on sample id).

    Each batch is two indexed queries (members, then their samples by primary key) streamed with
    `.iterator()`, so memory holds one batch whatever the version's size. `split` keeps one split.
    """
    after = 0
    while True:
        members = VersionSample.objects.filter(version_id=version_id, sample_id__gt=after)
        if split is not None:
            members = members.filter(split=split)
        rows = list(members.order_by("sample_id").values_list(*_MEMBER_FIELDS)[:batch_size].iterator(batch_size))
        if not rows:
            return
        samples = Sample.objects.filter(pk__in=[row[0] for row in rows]).values_list(*_SAMPLE_FIELDS)
        facts = {fact[0]: fact[1:] for fact in samples.iterator(batch_size)}
        yield [ExportMember(*row, *facts[row[0]]) for row in rows]
        after = rows[-1][0]


def version_export_blocker(version: DatasetVersion) -> str | None:
    """Why `version` cannot be exported yet, or None when it can.

    The rule: a version is complete once the job that made it (if any) has succeeded and its member
    rows number `sample_count`. Before that it is still being created (an import writes the version
    and its members in one transaction, but its job ends afterwards; other operations may write
    members in batches), and an export would catch it half-written.
    """
    job = version.job
    if job is not None and job.status != JobStatus.SUCCEEDED:
        state = "still running" if not job.is_finished else job.status
        return f"version {version.pk} is still being created: the job that makes it (job {job.pk}) is {state}"
    members = VersionSample.objects.filter(version_id=version.pk).count()
    if members != version.sample_count:
        return (
            f"version {version.pk} is still being created: it has {members} members of the {version.sample_count} "
            "it records"
        )
    return None


def version_class_names(version: DatasetVersion) -> list[str]:
    """The version's primary labels in class-index order: the dataset's taxonomy first, then others sorted."""
    used = set(
        VersionSample.objects.filter(version_id=version.pk).exclude(label="").values_list("label", flat=True).distinct()
    )
    ordered = [name for name in version.dataset.classes if name in used]
    return ordered + sorted(used - set(ordered))


def export_list(
    *, user: AbstractBaseUser | AnonymousUser, version_id: int | None = None, format: str | None = None
) -> QuerySet[Export]:
    """Exports `user` may see, newest first: their own; admins (`manage`) see everyone's."""
    if not user_can(user, Capability.CURATE):
        return Export.objects.none()
    exports = Export.objects.select_related("job", "created_by", "version__dataset").order_by("-id")
    if not user_can(user, Capability.MANAGE):
        exports = exports.filter(created_by_id=user.pk)
    if version_id is not None:
        exports = exports.filter(version_id=version_id)
    if format:
        exports = exports.filter(format=format)
    return exports


def export_get(export_id: int) -> Export | None:
    return Export.objects.select_related("job", "created_by", "version__dataset").filter(pk=export_id).first()


def export_is_foreign(*, export: Export, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `export` belongs to someone else and `user` is not an admin."""
    return export.created_by_id != user.pk and not user_can(user, Capability.MANAGE)
