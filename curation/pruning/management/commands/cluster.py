"""`manage.py cluster VERSION_ID [--embeddings ID] [--k K] [--niter N] [--seed S] [--enqueue] [--user U]`."""

from argparse import ArgumentParser
from typing import Any

from curation.pruning.job_kinds import CLUSTER_JOB_KIND
from curation.pruning.services.params import cluster_params_validate
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Cluster a version's embeddings with FAISS spherical k-means and store per-cluster size, d_intra, "
        "d_inter (20 nearest centroids) and complexity. k defaults to round(sqrt(n / 2)). The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("version_id", type=int, help="id of the version to cluster")
        parser.add_argument("--embeddings", type=int, default=None, help="embedding set id (default: the newest)")
        parser.add_argument("--k", type=int, default=None, help="number of clusters (default round(sqrt(n / 2)))")
        parser.add_argument("--niter", type=int, default=20, help="k-means iterations (default 20)")
        parser.add_argument("--seed", type=int, default=1234, help="k-means seed (default 1234)")

    def run(self, **options: Any) -> dict[str, Any]:
        params = cluster_params_validate(
            version_id=options["version_id"],
            embedding_set_id=options["embeddings"],
            n_clusters=options["k"],
            niter=options["niter"],
            seed=options["seed"],
        )
        return self.run_job(kind=CLUSTER_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
