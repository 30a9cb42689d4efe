"""`manage.py prune VERSION_ID --method M [--keep-fraction F] [--split S ...] [--eps E] [--embeddings ID] [--enqueue]`.

Every parameter of PruneParams is an option (core.params): the same names, help and defaults as the API and
the page; `--k` and `--dbp-k` still work for `--n-clusters` and `--dbp-n-clusters`.
"""

from typing import Any

from core.params import params_values_from_options
from curation.pruning.job_kinds import PRUNE_JOB_KIND
from curation.pruning.services.params import PruneParams, prune_params_validate
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Propose a pruning of a version (semdedup, dbp, ssp, random or semdedup+dbp): a decision, a reason and a "
        "score for every sample, stored as a prune run; nothing changes until the run is applied. "
        "The last stdout line is JSON."
    )
    params_class = PruneParams

    params_class = PruneParams

    def run(self, **options: Any) -> dict[str, Any]:
        params = prune_params_validate(**params_values_from_options(options, PruneParams))
        return self.run_job(kind=PRUNE_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
