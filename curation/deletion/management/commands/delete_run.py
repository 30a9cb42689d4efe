"""`manage.py delete_run KIND ID [--enqueue] [--user NAME] [--batch-size N]` (KIND: prune_run, embedding_set…)."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from curation.deletion.cli import RUN_HERE_OR_ENQUEUE, DeletionCommand
from curation.deletion.services import RUN_KINDS


class Command(DeletionCommand):
    help = (
        "Delete one run (an embedding set, a cluster or prune run, a trained model, a report…) with its own rows "
        "and files; refused while other rows depend on it. " + RUN_HERE_OR_ENQUEUE
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", help=f"one of: {', '.join(sorted(RUN_KINDS))}")
        super().add_arguments(parser)

    def run(self, **options: Any) -> dict[str, Any]:
        if options["kind"] not in RUN_KINDS:
            raise ApplicationError(f"unknown run kind {options['kind']!r}; use one of: {', '.join(sorted(RUN_KINDS))}")
        return self.delete(target=options["kind"], **options)
