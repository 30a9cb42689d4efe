"""Slow deletion batches for a worker started by a test (imported through WINNOW_EXTRA_JOB_MODULES).

With WINNOW_TEST_SLOW_DELETES set to a number of seconds, every batch's DELETE of the deletion job
sleeps that long first, so that a test can SIGKILL the worker midway. Without it, importing does nothing.
"""

import os
import time

from curation.deletion.services import job as services


def _install(delay_s: float) -> None:
    rows_delete = services._rows_delete

    def slow_rows_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(delay_s)
        return rows_delete(*args, **kwargs)

    services._rows_delete = slow_rows_delete  # type: ignore[assignment]


if os.environ.get("WINNOW_TEST_SLOW_DELETES"):
    _install(float(os.environ["WINNOW_TEST_SLOW_DELETES"]))
