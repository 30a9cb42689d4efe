"""`manage.py find_duplicates EMBEDDING_SET_ID [--threshold T | --target 0.99] [--method M] [--enqueue]`."""

from argparse import ArgumentParser
from typing import Any

from curation.embeddings.ml.calibration import DEFAULT_TARGET
from curation.embeddings.services.duplicates import (
    DEFAULT_CALIBRATION_IMAGES,
    FIND_DUPLICATES_JOB_KIND,
    METHODS,
    duplicate_params_validate,
)
from jobs.cli import JobCommand

SUMMARY_KEYS = (
    "job", "duplicate_run", "embedding_set", "threshold", "threshold_source", "exact_groups", "near_groups",
    "near_duplicate_samples", "search", "calibration", "truth",
)  # fmt: skip


class Command(JobCommand):
    help = (
        "Find exact and near-duplicate groups in an embedding set. The near-duplicate threshold is calibrated on "
        "perturbed copies of the dataset's own images unless --threshold is given. The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("embedding_set_id", type=int, help="id of a ready embedding set (see `embed`)")
        parser.add_argument("--threshold", type=float, default=None, help="near-duplicate cosine (no calibration)")
        parser.add_argument("--target", type=float, default=DEFAULT_TARGET, help="share of perturbed pairs to catch")
        parser.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES)
        parser.add_argument("--method", choices=METHODS, default="auto", help="pair search (auto: exact up to 50k)")
        parser.add_argument("--seed", type=int, default=0)

    def run(self, **options: Any) -> dict[str, Any]:
        params = duplicate_params_validate(
            embedding_set_id=options["embedding_set_id"],
            threshold=options["threshold"],
            target=options["target"],
            calibration_images=options["calibration_images"],
            method=options["method"],
            seed=options["seed"],
        )
        result = self.run_job(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
