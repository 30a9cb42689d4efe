"""Undoing an import: what a failed, cancelled or retried `import_dataset` job wrote, and its upload."""

from core.storage import blob_delete
from curation.models import Dataset, DatasetVersion
from curation.services.imports.report import import_report_key
from curation.services.imports.submit import upload_discard
from curation.services.ingest import samples_delete_for_job
from jobs.models import Job


def import_partial_undo(job: Job) -> None:
    """Remove what an import job wrote: its version, samples, aliases, unreferenced blobs, report, dataset."""
    stored = Job.objects.filter(pk=job.pk).values_list("result", flat=True).first() or {}
    dataset_id = stored.get("dataset") or (job.result or {}).get("dataset")
    if dataset_id:
        DatasetVersion.objects.filter(dataset_id=dataset_id).delete()
    samples_delete_for_job(job_id=job.pk)
    if dataset_id:
        Dataset.objects.filter(pk=dataset_id).delete()
    blob_delete(import_report_key(job.pk))


def dataset_import_cleanup(job: Job) -> None:
    """The kind's cleanup after a failure or cancel: undo the partial import and drop the upload."""
    import_partial_undo(job)
    upload_discard((job.params or {}).get("source"))
