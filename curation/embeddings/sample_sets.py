"""The sample list's `duplicate_run` + `duplicate_group` filter (registered in EmbeddingsConfig.ready)."""

from curation.apis.sample_sets import sample_set_invalid
from curation.embeddings.models import DuplicateRun
from curation.embeddings.selectors.duplicates import duplicate_group_get
from curation.models import DatasetVersion


def duplicate_group_sample_set(version: DatasetVersion, run_id: int, number: int) -> set[int]:
    """The samples of group `number` of a duplicate run of the version."""
    run = DuplicateRun.objects.filter(pk=run_id, version=version).first()
    group = duplicate_group_get(run=run, number=number) if run is not None else None
    if group is None:
        raise sample_set_invalid("duplicate_run", f"duplicate run {run_id} of this version has no group {number}")
    return {int(i) for i in group.sample_ids}
