"""`manage.py delete_dataset ID [--enqueue] [--user NAME] [--batch-size N]`."""

from curation.deletion.cli import RUN_HERE_OR_ENQUEUE, DeletionCommand


class Command(DeletionCommand):
    help = (
        "Delete a dataset with everything in it (versions, samples, runs, reports, models) and the blobs and "
        "files nothing else needs, in batches. " + RUN_HERE_OR_ENQUEUE
    )
    target = "dataset"
