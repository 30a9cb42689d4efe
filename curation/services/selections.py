"""A new version from a selection of a version's samples: the selection itself, or everything but it.

Versions are immutable, so a selection never edits one: it makes a child version (operation
"manual") whose params record whether the selection was kept or removed, how many samples that
was, and the filters that chose it. Members are copied from the parent (split, labels and their
origins unchanged) by one INSERT ... SELECT.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max

from core.api_errors import ApplicationError
from curation.models import Dataset, DatasetVersion, VersionOperation, VersionSample


@transaction.atomic
def version_from_selection(
    *,
    version: DatasetVersion,
    sample_ids: Collection[int],
    keep: bool,
    user: User | None = None,
    selection: dict[str, Any] | None = None,
) -> DatasetVersion:
    """A child of `version` holding the selected members (`keep`) or all the others (not `keep`).

    Args:
        version: the parent version.
        sample_ids: the selection; ids that are not members of `version` are ignored.
        keep: True keeps only the selection, False removes it.
        user: recorded as the new version's author.
        selection: how the selection was made (e.g. {"filters": "label=cat"}), stored in its params.

    Raises ApplicationError `empty_selection` when nothing is selected and `empty_version` when the
    new version would have no member (nothing is written then).
    """
    ids = sorted({int(i) for i in sample_ids})
    if not ids:
        raise ApplicationError("Nothing is selected.", code="empty_selection")
    Dataset.objects.select_for_update().filter(pk=version.dataset_id).first()  # serialises version numbers
    number = (DatasetVersion.objects.filter(dataset_id=version.dataset_id).aggregate(n=Max("number"))["n"] or 0) + 1
    child = DatasetVersion.objects.create(
        dataset_id=version.dataset_id, number=number, parent=version, operation=VersionOperation.MANUAL, created_by=user
    )
    copied = _members_copy(parent=version, child=child, sample_ids=ids, keep=keep)
    if copied == 0:
        raise ApplicationError("The new version would have no sample.", code="empty_version")
    removed = version.sample_count - copied
    child.sample_count = copied
    child.operation_params = {
        "selection": "kept" if keep else "removed",
        "selected": version.sample_count - copied if not keep else copied,
        "kept": copied,
        "removed": removed,
        **(selection or {}),
    }
    verb = "Kept" if keep else "Removed"
    count = copied if keep else removed
    child.note = f"{verb} a selection of {count} samples of v{version.number}: {copied} samples"
    child.save(update_fields=["sample_count", "operation_params", "note"])
    return child


def _members_copy(*, parent: DatasetVersion, child: DatasetVersion, sample_ids: list[int], keep: bool) -> int:
    members = VersionSample._meta.db_table
    # The ids travel as one parameter: an array on PostgreSQL, a JSON list on SQLite (the embedded default).
    ids_parameter: list[int] | str
    if connection.vendor == "postgresql":
        selected, ids_parameter = "sample_id = ANY(%s)", sample_ids
    else:
        selected, ids_parameter = "sample_id IN (SELECT value FROM json_each(%s))", json.dumps(sample_ids)
    condition = selected if keep else f"NOT ({selected})"
    sql = (
        f"INSERT INTO {members} (version_id, sample_id, split, label, label_origin, labels) "  # noqa: S608
        f"SELECT %s, sample_id, split, label, label_origin, labels FROM {members} "
        f"WHERE version_id = %s AND {condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [child.pk, parent.pk, ids_parameter])
        return cursor.rowcount
