"""`manage.py find_spurious MODEL_ID VERSION_ID [--split S] [--max-samples N] [--seed S] [--swaps N] [--min-support N]
[--no-pull] [--batch-size N] [--device D] [--masks PROVIDER] [--enqueue] [--user U]`."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from explain.spurious.models import SpuriousReport
from explain.spurious.services import spurious_report_create
from explain.spurious.services.reports import report_headline
from jobs.runs.cli import RunCommand
from robustness.models import TrainedModel


class Command(RunCommand):
    help = (
        "Spurious-feature report (ASPIRE flip test): swap backgrounds and remove objects of correctly classified "
        "images, rank features per class by flip rate over the null edit. Runs here with a progress bar, or with "
        "--enqueue on the GPU workers. The last stdout line is JSON with the report id and each class's top feature."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("model_id", type=int, help="id of the TrainedModel")
        parser.add_argument("version_id", type=int, help="id of the DatasetVersion whose images are edited")
        parser.add_argument("--split", help="train, val, test, unassigned or all (default: train, else all)")
        parser.add_argument("--max-samples", type=int, help="probe a seeded subset of at most N samples")
        parser.add_argument("--seed", type=int, help="seed of the subset and of the swapped-in backgrounds (default 0)")
        parser.add_argument("--swaps", type=int, dest="swaps_per_image", help="background swaps per image (default 3)")
        parser.add_argument("--min-support", type=int, help="images a feature needs to be ranked (default 5)")
        parser.add_argument("--no-pull", action="store_true", help="skip the background-pull measure")
        parser.add_argument("--batch-size", type=int, help="images per forward pass (default 64)")
        parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
        parser.add_argument(
            "--masks", help="auto (default: the dataset's own masks, else stored estimated ones), dataset, estimated "
            "or clipseg:<weights> (masks stored by estimate_masks)",
        )  # fmt: skip

    def run(self, **options: Any) -> dict[str, Any]:
        trained = TrainedModel.objects.filter(pk=options["model_id"]).first()
        if trained is None:
            raise ApplicationError(f"no trained model with id {options['model_id']}")
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no dataset version with id {options['version_id']}")
        report = spurious_report_create(
            trained_model=trained, version=version, params=self._params(options), requested_by=self.job_user(),
            enqueue=options["enqueue"],
        )  # fmt: skip
        return self.run_follow(report, run_id="spurious_report", summary=_summary, enqueue=options["enqueue"])

    def _params(self, options: dict[str, Any]) -> dict[str, Any]:
        names = ("split", "max_samples", "seed", "swaps_per_image", "min_support", "batch_size", "device", "masks")
        params: dict[str, Any] = {name: options[name] for name in names if options[name] is not None}
        if options["no_pull"]:
            params["pull"] = False
        return params


def _summary(report: SpuriousReport) -> dict[str, Any]:
    return {"spurious_report": report.pk, **report_headline(report.results)}
