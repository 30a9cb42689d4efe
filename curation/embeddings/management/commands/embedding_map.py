"""`manage.py embedding_map EMBEDDING_SET_ID [--method pca|tsne] [--max-points N] [--seed S] [--enqueue]`."""

from argparse import ArgumentParser
from typing import Any

from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MAP_METHODS, map_params_validate
from jobs.cli import JobCommand


class Command(JobCommand):
    help = "Compute the 2-D embedding map of an embedding set (PCA of every row, or t-SNE of a sample)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("embedding_set_id", type=int, help="id of a ready embedding set")
        parser.add_argument("--method", choices=MAP_METHODS, default="pca")
        parser.add_argument("--max-points", type=int, default=None, help="PCA fit sample / t-SNE points")
        parser.add_argument("--seed", type=int, default=0)

    def run(self, **options: Any) -> dict[str, Any]:
        params = map_params_validate(
            embedding_set_id=options["embedding_set_id"],
            method=options["method"],
            max_points=options["max_points"],
            seed=options["seed"],
        )
        return self.run_job(kind=EMBEDDING_MAP_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
