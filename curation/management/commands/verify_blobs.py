"""`manage.py verify_blobs [--repair]`: re-hash the blobs that sample rows reference."""

from typing import Any

from django.core.management.base import CommandParser

from core.cli import WinnowCommand
from curation.services.blob_verify import sample_blobs_verify


class Command(WinnowCommand):
    help = (
        "Check every original, thumbnail and mask that sample rows reference (present, of the right size, "
        "hashing to the recorded digest). --repair deletes damaged originals and masks (a re-import of the same "
        "bytes stores them again), remakes thumbnails, deletes temporary files of killed writers, and lists the "
        "samples to re-import. One line per problem, then a JSON summary as the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="mend what can be mended (see the help above)")

    def run(self, **options: Any) -> dict[str, Any]:
        return sample_blobs_verify(repair=options["repair"], log=self.stdout.write)
