"""`manage.py import_dataset SOURCE --name NAME [--format F] [--description D] [--enqueue] [--user U]`."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from curation.services.imports import IMPORT_FORMATS, IMPORT_JOB_KIND, import_params_validate
from jobs.cli import JobCommand

SUMMARY_KEYS = ("job", "dataset", "version", "imported", "rejected", "duplicates", "report_key")


class Command(JobCommand):
    help = (
        "Import a server folder (ImageFolder layout), a zip archive, or a CSV/JSONL manifest as a new dataset. "
        "Runs here with a progress bar, or with --enqueue on the workers. The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("source", help="folder, .zip, .csv or .jsonl on this machine")
        parser.add_argument("--name", required=True, help="name of the new dataset (must be free)")
        parser.add_argument("--format", default="auto", choices=IMPORT_FORMATS, help="default: detect it")
        parser.add_argument("--description", default="", help="description of the new dataset")
        parser.add_argument("--batch-size", type=int, default=None, help="files per progress report")

    def run(self, **options: Any) -> dict[str, Any]:
        params = import_params_validate(
            source=str(Path(options["source"]).expanduser().absolute()),
            name=options["name"],
            format=options["format"],
            description=options["description"],
        ).as_job_params()
        if options["batch_size"]:
            params["batch_size"] = options["batch_size"]
        result = self.run_job(kind=IMPORT_JOB_KIND, params=params, enqueue=options["enqueue"])
        if options["enqueue"]:
            return result
        for line in result.get("report", [])[:20]:
            self.stderr.write(f"{line['status']}: {line['file']}: {line['reason']}")
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
