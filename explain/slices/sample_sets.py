"""The sample list's `slice_report` + `slice` filter (registered in SlicesConfig.ready)."""

from curation.apis.sample_sets import sample_set_invalid
from curation.models import DatasetVersion
from explain.slices.models import SliceReport
from explain.slices.selectors import slice_sample_ids


def slice_sample_set(version: DatasetVersion, report_id: int, number: int) -> set[int]:
    """The members of slice `number` of a failure-slice report of the version."""
    report = SliceReport.objects.filter(pk=report_id, version=version).first()
    ids = slice_sample_ids(report, number) if report is not None else None
    if ids is None:
        message = f"failure-slice report {report_id} of this version has no slice {number}"
        raise sample_set_invalid("slice_report", message)
    return set(ids)
