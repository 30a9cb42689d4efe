"""`manage.py explain MODEL_ID VERSION_ID [--method gradcam|gradcam++|eigencam] [--target-layer PATH]
[--filter split=test] [--filter class=cat,dog] [--filter max_samples=N] [--target predicted|true]
[--batch-size N] [--road-percentiles 20,40,60,80] [--seed N] [--device D] [--enqueue] [--user U]`."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from explain.models import CamMethod
from explain.selectors import explanation_summary
from explain.services import explanation_run_create
from jobs.runs.cli import RunCommand
from robustness.models import TrainedModel

FILTER_KEYS = ("split", "class", "max_samples")


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def filters_to_params(filters: list[str]) -> dict[str, Any]:
    """['split=test', 'class=cat,dog', 'max_samples=50'] → {"split": "test", "classes": [...], "max_samples": 50}."""
    params: dict[str, Any] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in FILTER_KEYS or not value.strip():
            raise ApplicationError(f"bad --filter {item!r}: use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
        if key == "class":
            params["classes"] = _names(value)
        elif key == "max_samples":
            if not value.strip().isdigit():
                raise ApplicationError(f"bad --filter {item!r}: max_samples must be a positive integer")
            params["max_samples"] = int(value)
        else:
            params["split"] = value.strip()
    return params


class Command(RunCommand):
    help = (
        "Explain a trained model's predictions on a dataset version with Grad-CAM (or Grad-CAM++, EigenCAM): maps "
        "stored raw and as overlays, pointing game and energy inside object masks, ROAD and confidence drop. Runs "
        "here with a progress bar, or with --enqueue on the GPU workers. The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("model_id", type=int, help="id of the TrainedModel")
        parser.add_argument("version_id", type=int, help="id of the DatasetVersion whose samples to explain")
        parser.add_argument("--method", default="gradcam", choices=CamMethod.values)
        parser.add_argument("--target-layer", help="dotted module path (default: the architecture's last conv block)")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="split=test|val|train|all (default test, else val, else all), class=cat,dog, max_samples=N",
        )
        parser.add_argument(
            "--target", choices=("predicted", "true"), help="class the maps explain (default predicted)"
        )
        parser.add_argument("--batch-size", type=int, help="images per batch (default 32)")
        parser.add_argument("--road-percentiles", help="comma list of ROAD removal percentiles; 'none' skips ROAD")
        parser.add_argument("--seed", type=int, help="seed of the sample subset and ROAD's noise (default 0)")
        parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
        parser.add_argument(
            "--masks", help="object masks of the pointing game and energy scores: auto (default: the dataset's own, "
            "else stored estimated ones), dataset, estimated or clipseg:<weights> (see estimate_masks)",
        )  # fmt: skip

    def run(self, **options: Any) -> dict[str, Any]:
        trained = TrainedModel.objects.filter(pk=options["model_id"]).first()
        if trained is None:
            raise ApplicationError(f"no trained model with id {options['model_id']}")
        version = DatasetVersion.objects.select_related("dataset").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no dataset version with id {options['version_id']}")
        run = explanation_run_create(
            trained_model=trained, version=version, method=options["method"], target_layer=options["target_layer"],
            params=self._params(options), requested_by=self.job_user(), enqueue=options["enqueue"],
        )  # fmt: skip
        return self.run_follow(run, run_id="explanation_run", summary=explanation_summary, enqueue=options["enqueue"])

    def _params(self, options: dict[str, Any]) -> dict[str, Any]:
        params = filters_to_params(options["filter"])
        params |= {"target": options["target"], "batch_size": options["batch_size"], "seed": options["seed"]}
        params["device"] = options["device"]
        params["masks"] = options["masks"]
        road = options["road_percentiles"]
        if road is not None:
            params["road_percentiles"] = [] if road.strip().lower() == "none" else [int(p) for p in _names(road)]
        return {key: value for key, value in params.items() if value is not None}
