"""`manage.py cluster VERSION_ID [--embeddings ID] [--n-clusters K] [--niter N] [--seed S] [--enqueue] [--user U]`.

The options come from ClusterParams (core.params): the same names, help and defaults as the API and the page.
"""

from typing import Any

from core.params import params_values_from_options
from curation.pruning.job_kinds import CLUSTER_JOB_KIND
from curation.pruning.services.params import ClusterParams, cluster_params_validate
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Cluster a version's embeddings with FAISS spherical k-means and store per-cluster size, d_intra, "
        "d_inter and complexity. The last stdout line is JSON."
    )
    params_class = ClusterParams

    params_class = ClusterParams

    def run(self, **options: Any) -> dict[str, Any]:
        params = cluster_params_validate(**params_values_from_options(options, ClusterParams))
        return self.run_job(kind=CLUSTER_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
