"""`manage.py explain MODEL_ID VERSION_ID [--method gradcam|gradcam++|eigencam] [--target-layer PATH]
[--filter split=test] [--filter class=cat,dog] [--filter max_samples=N] [--target predicted|true] [--batch-size N]
[--road-percentiles 20,40,60,80|none] [--seed N] [--device D] [--masks PROVIDER] [--enqueue] [--user U]`: the
options are generated from ExplanationParams (jobs.runs.cli); `--filter` is the command's own shorthand."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from explain.job_kinds import EXPLANATION
from explain.selectors import explanation_summary
from jobs.runs.cli import RunCommand

FILTER_KEYS = ("split", "class", "max_samples")


def filters_to_params(filters: list[str]) -> dict[str, Any]:
    """['split=test', 'class=cat,dog', 'max_samples=50'] → {"split": "test", "classes": [...], "max_samples": 50}."""
    params: dict[str, Any] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in FILTER_KEYS or not value.strip():
            raise ApplicationError(f"bad --filter {item!r}: use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
        if key == "class":
            params["classes"] = [part.strip() for part in value.split(",") if part.strip()]
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
    run_kind, run_id = EXPLANATION, "explanation_run"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="shorthand of --split, --classes and --max-samples: split=test, class=cat,dog, max_samples=N",
        )

    def start_request(self, options: dict[str, Any]) -> dict[str, Any]:
        request = super().start_request(options)
        request["params"] |= filters_to_params(options["filter"])
        return request

    def summary(self, run: Any) -> dict[str, Any]:
        return explanation_summary(run)
