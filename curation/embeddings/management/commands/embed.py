"""`manage.py embed VERSION_ID --encoder NAME [--chunk-size N] [--batch-size B] [--device D] [--enqueue]`.

The options come from EmbedParams (core.params), as the API's and the page's fields do.
"""

from typing import Any

from core.params import params_values_from_options
from curation.embeddings.services.embedding_jobs import EMBED_JOB_KIND, EmbedParams, embed_params_validate
from jobs.cli import JobCommand

SUMMARY_KEYS = (
    "job", "embedding_set", "version", "encoder", "rows", "skipped", "chunks", "chunks_reused", "index_kind",
)  # fmt: skip


class Command(JobCommand):
    help = (
        "Embed every image of a dataset version with an encoder (float16 .npy + FAISS index). Runs here with a "
        "progress bar, or with --enqueue on the workers (chunk tasks shared by every worker). The last stdout "
        "line is JSON."
    )

    params_class = EmbedParams

    def run(self, **options: Any) -> dict[str, Any]:
        given = params_values_from_options(options, EmbedParams)
        # Inline, this process computes every chunk itself: no chunk tasks for the workers.
        params = embed_params_validate(**given, dispatch=options["enqueue"])
        result = self.run_job(kind=EMBED_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
        if options["enqueue"]:
            return result
        for failure in result.get("skipped_samples", []):
            self.stderr.write(f"skipped: sample {failure['sample_id']}: {failure['reason']}")
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
