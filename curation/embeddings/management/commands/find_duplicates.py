"""`manage.py find_duplicates EMBEDDING_SET_ID [--threshold T] [--verify-threshold V] [--target 0.99] [--method M]
[--flips] [--recalibrate] [--enqueue]`.

The options come from DuplicateParams (core.params), as the API's and the page's fields do.
"""

from typing import Any

from core.params import params_values_from_options
from curation.embeddings.services.duplicates import (
    FIND_DUPLICATES_JOB_KIND,
    DuplicateParams,
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

    params_class = DuplicateParams

    def run(self, **options: Any) -> dict[str, Any]:
        params = duplicate_params_validate(**params_values_from_options(options, DuplicateParams))
        result = self.run_job(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
