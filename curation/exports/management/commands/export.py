"""`manage.py export VERSION_ID --format F [--out PATH] [--shard-size N] [--shard-max-bytes B] [--csv-escape-formulas]
[--enqueue]`. The options but --out come from ExportParams (core.params), as the API's and the page's fields do.

`--user NAME` runs it as that user (default: the admin user), as every job command.
"""

import shutil
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage

from core.api_errors import ApplicationError
from core.params import add_params_arguments, params_from_options
from curation.exports.models import Export
from curation.exports.params import ExportParams
from curation.exports.services.exports import export_create_inline, export_submit
from curation.exports.services.outputs import CHECKSUM_FILE_NAME, COPY_CHUNK_BYTES
from curation.models import DatasetVersion
from jobs.cli import JobCommand
from jobs.models import JobStatus


class Command(JobCommand):
    help = (
        "Export a dataset version as an ImageFolder zip, a CSV or JSONL manifest, a Hugging Face imagefolder zip "
        "or WebDataset shards, with a SHA256SUMS checksum manifest. Runs here with a progress bar and copies the "
        "files into --out, or with --enqueue on the workers (download the files through the API). "
        "The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        add_params_arguments(parser, ExportParams)
        parser.add_argument("--out", help="folder to copy the produced files and SHA256SUMS into (created)")

    def run(self, **options: Any) -> dict[str, Any]:
        version = DatasetVersion.objects.select_related("dataset", "job").filter(pk=options["version_id"]).first()
        if version is None:
            raise ApplicationError(f"no version with id {options['version_id']}")
        if options["enqueue"] and options["out"]:
            raise ApplicationError("--out needs the export to run here: with --enqueue, download through the API")
        params = params_from_options({**options, "version_id": version.pk}, ExportParams)
        request = {
            "version": version,
            "format": params.format,
            "options": params.options(),
            "requested_by": self.job_user(),
        }
        if options["enqueue"]:
            export = export_submit(**request)
            return {"export": export.pk, "job": export.job_id, "status": JobStatus.QUEUED, "queue": "default"}
        export = export_create_inline(**request)
        assert export.job is not None
        job = self._execute_inline(export.job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        export.refresh_from_db()
        summary = {"job": job.pk, **job.result}
        if options["out"]:
            summary["out"] = str(export_files_copy(export, Path(options["out"]).expanduser().absolute()))
        return summary


def export_files_copy(export: Export, folder: Path) -> Path:
    """Copy the export's files and its SHA256SUMS from storage into `folder` (streamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = [(item["name"], item["key"]) for item in export.files] + [(CHECKSUM_FILE_NAME, export.checksum_key)]
    for name, key in stored:
        with default_storage.open(key, "rb") as source, (folder / name).open("wb") as destination:
            shutil.copyfileobj(source, destination, COPY_CHUNK_BYTES)
    return folder
