"""`manage.py train VERSION_ID --arch NAME [--epochs --batch-size --lr --img-size --seed --device
--augmentation --optimizer --weight-decay --precision] [--enqueue] [--user U]`. The options come from TrainParams
(core.params), as the train API's and the training page's fields do."""

from typing import Any

from core.api_errors import ApplicationError
from core.params import params_from_options
from curation.models import DatasetVersion
from jobs.cli import JobCommand
from jobs.models import JobStatus
from robustness.params import TrainParams
from robustness.services.training import training_run_start


class Command(JobCommand):
    help = (
        "Train a classifier on a dataset version (its train split; validated on its val split, or on a seeded "
        "20% of train when it has none). Runs here with a progress bar, or with --enqueue on the gpu workers. "
        "The last stdout line is JSON."
    )

    params_class = TrainParams

    def run(self, **options: Any) -> dict[str, Any]:
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no dataset version with id {options['version_id']}")
        params = params_from_options({**options, "version_id": version.pk}, TrainParams)
        run = training_run_start(
            version=version, requested_by=self.job_user(), enqueue=options["enqueue"], **params.start_kwargs()
        )
        if options["enqueue"]:
            return {"job": run.job.pk, "run": run.pk, "status": run.job.status, "queue": run.job.queue}
        job = self._execute_inline(run.job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        return {"job": job.pk, **job.result}
