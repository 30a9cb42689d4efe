"""`manage.py train VERSION_ID --arch NAME [--epochs --batch-size --lr --img-size --seed --device
--augmentation --optimizer --weight-decay --precision] [--enqueue] [--user U]`."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from jobs.cli import JobCommand
from jobs.models import JobStatus
from robustness.ml.augmentations import AUGMENTATIONS, DEFAULT_AUGMENTATION
from robustness.ml.devices import PRECISIONS
from robustness.ml.models import model_names
from robustness.ml.training import OPTIMIZERS
from robustness.services.training import training_run_start


class Command(JobCommand):
    help = (
        "Train a classifier on a dataset version (its train split; validated on its val split, or on a seeded "
        "20% of train when it has none). Runs here with a progress bar, or with --enqueue on the gpu workers. "
        "The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("version_id", type=int, help="id of the dataset version to train on")
        parser.add_argument("--arch", required=True, choices=model_names(), help="architecture")
        parser.add_argument("--epochs", type=int, default=10)
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine schedule)")
        parser.add_argument("--img-size", type=int, default=None, help="default: the architecture's usual size")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
        parser.add_argument("--augmentation", default=DEFAULT_AUGMENTATION, choices=sorted(AUGMENTATIONS))
        parser.add_argument("--optimizer", default="adamw", choices=OPTIMIZERS)
        parser.add_argument("--weight-decay", type=float, default=1e-4)
        parser.add_argument("--precision", default="auto", choices=PRECISIONS, help="mixed precision on CUDA")

    def run(self, **options: Any) -> dict[str, Any]:
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no dataset version with id {options['version_id']}")
        run = training_run_start(
            version=version, arch=options["arch"], requested_by=self.job_user(), epochs=options["epochs"],
            batch_size=options["batch_size"], lr=options["lr"], img_size=options["img_size"], seed=options["seed"],
            device=options["device"], augmentation=options["augmentation"], optimizer=options["optimizer"],
            weight_decay=options["weight_decay"], precision=options["precision"], enqueue=options["enqueue"],
        )  # fmt: skip
        if options["enqueue"]:
            return {"job": run.job.pk, "run": run.pk, "status": run.job.status, "queue": run.job.queue}
        job = self._execute_inline(run.job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        return {"job": job.pk, **job.result}
