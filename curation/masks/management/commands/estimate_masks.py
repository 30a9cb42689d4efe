"""`manage.py estimate_masks VERSION_ID --provider NAME [--enqueue] [--user U]`. The options come from MaskParams
(core.params), as the masks API's and the version masks page's fields do."""

from typing import Any

from core.api_errors import ApplicationError
from core.params import params_from_options
from curation.masks.models import MaskSetStatus
from curation.masks.params import MaskParams
from curation.masks.services import mask_set_start
from curation.models import DatasetVersion
from jobs.cli import JobCommand
from jobs.models import JobStatus


class Command(JobCommand):
    help = (
        "Estimate and store a foreground mask for every member of a dataset version with a mask provider "
        "(estimated: GrabCut, offline; clipseg:<hub id or folder>: CLIPSeg prompted with the class name). "
        "Measures the median IoU against the dataset's own masks when it has them. A ready set is returned as is. "
        "The last stdout line is JSON."
    )

    params_class = MaskParams

    def run(self, **options: Any) -> dict[str, Any]:
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no dataset version with id {options['version_id']}")
        params = params_from_options({**options, "version_id": version.pk}, MaskParams)
        mask_set = mask_set_start(
            version=version, provider=params.provider, requested_by=self.job_user(), enqueue=options["enqueue"]
        )
        summary = {"mask_set": mask_set.pk, "version": version.pk, "provider": mask_set.provider}
        if mask_set.status == MaskSetStatus.READY:
            return {**summary, "existing": True, "masks": mask_set.with_mask, "quality": mask_set.quality}
        job = mask_set.job
        assert job is not None  # mask_set_start gives a set that is not ready a job
        if options["enqueue"]:
            return {"job": job.pk, **summary, "status": job.status, "queue": job.queue}
        job = self._execute_inline(job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        return {"job": job.pk, **job.result}
