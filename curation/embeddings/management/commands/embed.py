"""`manage.py embed VERSION_ID --encoder NAME [--chunk-size N] [--batch-size B] [--device D] [--enqueue]`."""

from argparse import ArgumentParser
from typing import Any

from curation.embeddings.services.embedding_jobs import EMBED_JOB_KIND, embed_params_validate
from curation.ml.encoders import DEFAULT_ENCODER
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

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("version_id", type=int, help="id of the dataset version to embed")
        parser.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"registry name (default {DEFAULT_ENCODER})")
        parser.add_argument("--chunk-size", type=int, default=None, help="images per chunk task (default 1024)")
        parser.add_argument("--batch-size", type=int, default=None, help="images per forward (default by device)")
        parser.add_argument("--num-workers", type=int, default=None, help="decode processes (default by device)")
        parser.add_argument("--device", default="auto", help="auto (CUDA when visible), cpu or cuda")

    def run(self, **options: Any) -> dict[str, Any]:
        params = embed_params_validate(
            version_id=options["version_id"],
            encoder=options["encoder"],
            chunk_size=options["chunk_size"],
            batch_size=options["batch_size"],
            num_workers=options["num_workers"],
            device=options["device"],
            dispatch=options["enqueue"],  # inline, this process computes every chunk itself
        )
        result = self.run_job(kind=EMBED_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
        if options["enqueue"]:
            return result
        for failure in result.get("skipped_samples", []):
            self.stderr.write(f"skipped: sample {failure['sample_id']}: {failure['reason']}")
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
