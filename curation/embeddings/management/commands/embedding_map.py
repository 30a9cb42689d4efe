"""`manage.py embedding_map EMBEDDING_SET_ID [--method pca|tsne] [--max-points N] [--seed S] [--perplexity P]
[--enqueue]`: the options are generated from MapParams (core.params)."""

from typing import Any

from core.params import params_values_from_options
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MapParams, map_params_validate
from jobs.cli import JobCommand


class Command(JobCommand):
    help = "Compute the 2-D embedding map of an embedding set (PCA of every row, or t-SNE of a sample)."

    params_class = MapParams

    def run(self, **options: Any) -> dict[str, Any]:
        params = map_params_validate(**params_values_from_options(options, MapParams))
        return self.run_job(kind=EMBEDDING_MAP_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
