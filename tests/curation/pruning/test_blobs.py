"""Deleting a failed run's blobs (curation.pruning.blobs.blobs_delete) on local storage: when one cannot go."""

import logging

import numpy as np

from core.storage import BlobsNotDeleted
from curation.pruning.blobs import arrays_save, blobs_delete


def test_a_failed_runs_blob_that_cannot_go_is_logged_by_key_and_the_others_go(isolated_media, caplog):
    # given a failed run's two stored arrays and, under a third key of it, a folder holding a file (never a blob)
    keys = [arrays_save(f"pruning/runs/r1/{name}.npz", values=np.arange(3)) for name in ("assignment", "centroids")]
    blocked = "pruning/runs/r1/budgets.npz"
    (isolated_media / blocked).mkdir(parents=True)
    (isolated_media / blocked / "inside").write_bytes(b"kept")
    # when they are deleted with a key the run never wrote, as the run's cleanup does while its own error propagates
    with caplog.at_level(logging.ERROR, logger="curation.pruning.blobs"):
        blobs_delete([keys[0], blocked, "pruning/runs/r1/never-written.npz", keys[1]])
    # then nothing is raised over the run's error: the log names the key that could not go, the arrays are gone
    (record,) = caplog.records
    assert isinstance(record.exc_info[1], BlobsNotDeleted)
    assert list(record.exc_info[1].errors) == [blocked]
    assert [(isolated_media / key).exists() for key in keys] == [False, False]
    assert (isolated_media / blocked / "inside").read_bytes() == b"kept"
