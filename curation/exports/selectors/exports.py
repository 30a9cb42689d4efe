"""Reads for exports: the members to write (in keyset batches), readiness of a version, visibility."""

import json
from collections.abc import Iterator
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import QuerySet

from core.roles import Capability, user_can
from curation.exports.models import Export
from curation.models import DatasetVersion, Sample, VersionSample
from jobs.models import JobStatus

MEMBER_BATCH_SIZE = 2000
_MEMBER_COLUMNS = "sample_id, split, label, label_origin, {labels}"
_SAMPLE_COLUMNS = "id, sha256, image_key, mask_key, original_name, source, caption, {provenance}, width, height"


class ExportMember(NamedTuple):
    """One member of a version with the sample facts an export writes (a tuple: one allocation per row).

    The JSON columns come as their stored text: written out as they are (provenance) or looked up by
    their text (labels, ExportLayout caches what it derives per distinct text), parsed only where needed.
    """

    sample_id: int
    split: str
    label: str
    label_origin: str
    labels_json: str
    sha256: str
    image_key: str
    mask_key: str
    original_name: str
    source: str
    caption: str
    provenance_json: str
    width: int
    height: int

    @property
    def labels(self) -> list[dict[str, str]]:
        """The multi-label set: [{"label", "origin"}]."""
        return json.loads(self.labels_json)


def export_member_batches(
    version_id: int, *, split: str | None = None, batch_size: int = MEMBER_BATCH_SIZE
) -> Iterator[list[ExportMember]]:
    """A version's members in sample-id order, `batch_size` at a time (keyset on sample id).

    Each batch is two indexed queries: the members (range scan of the (version, sample) unique
    index, or of (version, split, sample) with `split`), then their samples by primary key, so
    memory holds one batch whatever the version's size. These are plain SQL reads that fetch the
    JSON columns as text (PostgreSQL casts them): decoding them per row, as the ORM does, cost more
    than the export's own work on manifests, which are meant to run at ≥ 50k rows/s.
    """
    members_table, samples_table = VersionSample._meta.db_table, Sample._meta.db_table
    postgresql = connection.vendor == "postgresql"
    as_text = "::text" if postgresql else ""
    member_columns = _MEMBER_COLUMNS.format(labels=f"labels{as_text}")
    sample_columns = _SAMPLE_COLUMNS.format(provenance=f"provenance{as_text}")
    split_clause = " AND split = %s" if split is not None else ""
    # Names below are the models' constants; every value is a query parameter.
    members_sql = (
        f"SELECT {member_columns} FROM {members_table} WHERE version_id = %s AND sample_id > %s{split_clause} "  # noqa: S608
        "ORDER BY sample_id LIMIT %s"
    )
    after = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(members_sql, [version_id, after, *([split] if split is not None else []), batch_size])
            rows = cursor.fetchall()
            if not rows:
                return
            ids = [row[0] for row in rows]
            if postgresql:  # one array parameter: no statement of 2000 placeholders to plan
                cursor.execute(f"SELECT {sample_columns} FROM {samples_table} WHERE id = ANY(%s)", [ids])  # noqa: S608
            else:
                placeholders = ", ".join(["%s"] * len(ids))
                cursor.execute(f"SELECT {sample_columns} FROM {samples_table} WHERE id IN ({placeholders})", ids)  # noqa: S608
            facts = {fact[0]: fact[1:] for fact in cursor.fetchall()}
            yield [ExportMember._make(row + facts[row[0]]) for row in rows]
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
