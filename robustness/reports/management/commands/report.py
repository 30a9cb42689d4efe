"""`manage.py report KIND MODEL_ID VERSION_ID [--option ...] [--enqueue] [--user U]`: start a generic report (one
subcommand per registered kind, its options generated from the kind's params dataclass) and follow it."""

from argparse import ArgumentParser
from typing import Any, TextIO, cast

from core.cli import WinnowCommand
from jobs.runs.kinds import run_kind_get
from robustness.reports.cli import report_command
from robustness.reports.job_kinds import report_kinds


class Command(WinnowCommand):
    help = (
        "Start a model report of one kind (`report KIND --help` lists its options) on a trained model and a dataset "
        "version. Runs here with a progress bar, or with --enqueue on the GPU workers. The last stdout line is JSON "
        "with the report id, its job and the report's headline."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
        for kind in report_kinds():
            report_command(kind)().add_arguments(kinds.add_parser(kind.name, help=kind.description))

    def handle(self, *args: Any, **options: Any) -> None:
        stdout, stderr = cast(TextIO, self.stdout._out), cast(TextIO, self.stderr._out)
        command = report_command(run_kind_get(options["kind"]))(stdout=stdout, stderr=stderr)
        command.options = options
        self.run = command.run  # type: ignore[method-assign]
        super().handle(*args, **options)
