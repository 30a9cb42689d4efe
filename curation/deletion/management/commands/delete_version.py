"""`manage.py delete_version ID [--enqueue] [--user NAME] [--batch-size N]`."""

from curation.deletion.cli import RUN_HERE_OR_ENQUEUE, DeletionCommand


class Command(DeletionCommand):
    help = (
        "Delete a version (refused while child versions, runs or reports depend on it) with its members, exports, "
        "embeddings and the samples only it held, and the files nothing else needs. " + RUN_HERE_OR_ENQUEUE
    )
    target = "version"
