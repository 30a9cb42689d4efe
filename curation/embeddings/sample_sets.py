"""The sample list's `duplicate_run` + `duplicate_group` filter and its sort by duplicate group size
(`sort=duplicate_size` with `sort_run`), both registered in EmbeddingsConfig.ready."""

from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet

from core.sql_rows import Slots, compiled_query
from curation.apis.sample_sets import sample_set_invalid
from curation.embeddings.models import DuplicateGroup, DuplicateMember, DuplicateRun
from curation.embeddings.selectors.duplicates import duplicate_group_get
from curation.models import DatasetVersion
from curation.sample_sorts import RunSortKind, sort_run_invalid


def duplicate_group_sample_set(version: DatasetVersion, run_id: int, number: int) -> QuerySet[Any] | set[int]:
    """The samples of group `number` of a duplicate run of the version: a subquery of its member rows (runs
    made before they were stored: the group's own list of ids)."""
    # Whether the run is of the version with its members stored, and has the group: one statement compiled once (the
    # ORM compiled two on every filtered request).
    found = compiled_query("duplicate set run", _run_facts).rows(
        {"run": run_id, "version": version.pk, "number": number}
    )
    missing = sample_set_invalid("duplicate_run", f"duplicate run {run_id} of this version has no group {number}")
    if found and found[0][0]:
        if not found[0][1]:
            raise missing
        return DuplicateMember.objects.filter(run_id=run_id, group_number=number).values("sample_id")
    run = DuplicateRun.objects.filter(pk=run_id, version=version).first() if found else None
    group = duplicate_group_get(run=run, number=number) if run is not None else None
    if group is None:
        raise missing
    return {int(i) for i in group.sample_ids}


def _run_facts(slots: Slots) -> QuerySet[Any]:
    runs = DuplicateRun.objects.filter(pk=slots.int("run"), version_id=slots.int("version"))
    group = DuplicateGroup.objects.filter(run_id=OuterRef("pk"), number=slots.int("number"))
    return runs.values_list("members_stored", Exists(group))[:1]


def duplicate_size_rows(version: DatasetVersion, run_id: int) -> tuple[QuerySet[Any], None]:
    """A duplicate run's grouped samples by the size of their largest group (the grid's sort); uncounted."""
    run = DuplicateRun.objects.filter(pk=run_id, version=version).first()
    if run is None or not run.members_stored:
        raise sort_run_invalid(
            f"duplicate run {run_id} of this version has no stored group members (a run made after they were "
            "stored is needed)",
            sort_run=run_id,
        )
    return DuplicateMember.objects.filter(run=run, largest=True).annotate(sort_value=F("size")), None


DUPLICATE_SIZE = RunSortKind(
    key="duplicate_size", title="Duplicate group size", run_noun="duplicate run", rows=duplicate_size_rows
)
