"""`manage.py find_duplicates EMBEDDING_SET_ID [--threshold T] [--verify-threshold V] [--target 0.99] [--method M]
[--flips] [--recalibrate] [--enqueue]`."""

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
    "job", "duplicate_run", "embedding_set", "threshold", "threshold_source", "verify_threshold", "exact_groups",
    "near_groups", "near_duplicate_samples", "semantic_groups", "warnings", "search", "calibration", "truth",
)  # fmt: skip


class Command(JobCommand):
    help = (
        "Find exact duplicates, near duplicates (the same photo: embedding candidates confirmed by pixel "
        "verification) and semantic near duplicates (similar content) in an embedding set. Thresholds are "
        "calibrated once per set on perturbed copies of its own images and reused. The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("embedding_set_id", type=int, help="id of a ready embedding set (see `embed`)")
        parser.add_argument("--threshold", type=float, default=None, help="cosine of semantic near duplicates")
        parser.add_argument("--verify-threshold", type=float, default=None, help="pixel score of a copy")
        parser.add_argument("--target", type=float, default=DEFAULT_TARGET, help="share of perturbed pairs to catch")
        parser.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES)
        parser.add_argument("--method", choices=METHODS, default="auto", help="pair search (auto: exact up to 50k)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--flips", action="store_true", help="a mirrored image counts as a copy")
        parser.add_argument("--recalibrate", action="store_true", help="calibrate again instead of reusing")

    def run(self, **options: Any) -> dict[str, Any]:
        params = duplicate_params_validate(
            embedding_set_id=options["embedding_set_id"],
            threshold=options["threshold"],
            target=options["target"],
            calibration_images=options["calibration_images"],
            method=options["method"],
            seed=options["seed"],
            verify_threshold=options["verify_threshold"],
            flips=options["flips"],
            recalibrate=options["recalibrate"],
        )
        result = self.run_job(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
