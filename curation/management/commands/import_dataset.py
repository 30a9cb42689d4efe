"""`manage.py import_dataset SOURCE --name NAME [--format F] [--description D] [--batch-size N] [--enqueue]
[--user U]`: the options are generated from ImportParams (core.params)."""

from pathlib import Path
from typing import Any

from core.params import params_values_from_options
from curation.services.imports import IMPORT_JOB_KIND, ImportParams, import_params_validate
from curation.services.imports.params import DEFAULT_BATCH_SIZE
from jobs.cli import JobCommand

SUMMARY_KEYS = ("job", "dataset", "version", "imported", "rejected", "duplicates", "report_key")


class Command(JobCommand):
    help = (
        "Import a server folder (ImageFolder layout), a zip archive, or a CSV/JSONL manifest as a new dataset. "
        "Runs here with a progress bar, or with --enqueue on the workers. The last stdout line is JSON."
    )

    params_class = ImportParams  # SOURCE (a folder, .zip, .csv or .jsonl here), --name, ...

    def run(self, **options: Any) -> dict[str, Any]:
        values = params_values_from_options(options, ImportParams)
        batch_size = values.pop("batch_size")
        values["source"] = str(Path(values["source"]).expanduser().absolute())
        params = import_params_validate(**values).as_job_params()
        if batch_size != DEFAULT_BATCH_SIZE:
            params["batch_size"] = batch_size
        result = self.run_job(kind=IMPORT_JOB_KIND, params=params, enqueue=options["enqueue"])
        if options["enqueue"]:
            return result
        for line in result.get("report", [])[:20]:
            self.stderr.write(f"{line['status']}: {line['file']}: {line['reason']}")
        return {key: result[key] for key in SUMMARY_KEYS if key in result}
