"""`manage.py embedding_map EMBEDDING_SET_ID [--method pca|tsne] [--max-points N] [--seed S] [--perplexity P]
[--enqueue]`: the options are generated from MapParams (core.params)."""

from argparse import ArgumentParser
from typing import Any

from core.params import add_params_arguments, params_values_from_options
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MapParams, map_params_validate
from jobs.cli import JobCommand


class Command(JobCommand):
    help = "Compute the 2-D embedding map of an embedding set (PCA of every row, or t-SNE of a sample)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        add_params_arguments(parser, MapParams)

    def run(self, **options: Any) -> dict[str, Any]:
        params = map_params_validate(**params_values_from_options(options, MapParams))
        return self.run_job(kind=EMBEDDING_MAP_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
