"""A failure-slice report's slices as evaluation groups (registered in SlicesConfig.ready as "slice_report").

Each slice is a fixed set of held-out samples; an evaluation that names the report scores its model on each
slice's members it holds (robustness.evaluation.services.groups), so two models are compared on the same samples.
"""

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from explain.slices.models import SliceReport
from robustness.evaluation.services.groups import GroupSet, SampleGroup


def slice_report_groups(version: DatasetVersion, report_id: int) -> GroupSet:
    """The report's slices in rank order. Raises not_found (404), invalid_groups (unfinished, another dataset)."""
    report = SliceReport.objects.select_related("trained_model", "version__dataset", "job").filter(pk=report_id).first()
    if report is None:
        raise ApplicationError(
            f"Failure-slice report {report_id} does not exist.", code="not_found", status_code=404,
            details={"field": "slice_reports"},
        )  # fmt: skip
    if report.version.dataset_id != version.dataset_id:
        raise ApplicationError(
            f"Failure-slice report {report_id} is of dataset {report.version.dataset.name!r}: its slices hold none "
            f"of {version.dataset.name!r}'s samples.",
            code="invalid_groups", details={"field": "slice_reports"},
        )  # fmt: skip
    slices = (report.results or {}).get("slices")
    if report.finished_at is None or slices is None:
        raise ApplicationError(
            f"Failure-slice report {report_id} has no slices yet ({report.status}).",
            code="invalid_groups", details={"field": "slice_reports"},
        )  # fmt: skip
    groups = [
        SampleGroup(
            key=str(entry["number"]),
            name=f"#{entry['number']} {entry['class']}",
            sample_ids=tuple(int(i) for i in entry["sample_ids"]),
            info={"class": entry["class"], "report_accuracy": entry["accuracy"]},
        )
        for entry in slices
    ]
    label = (
        f"failure-slice report {report.pk} ({report.trained_model.name} on {report.version.dataset.name} "
        f"v{report.version.number}, {report.split})"
    )
    return GroupSet(source="slice_report", id=report.pk, label=label, groups=groups,
                    info={"report_model": report.trained_model_id, "report_version": report.version_id})  # fmt: skip
