"""Slow blob writes for a worker started by a test (imported through WINNOW_EXTRA_JOB_MODULES).

With WINNOW_TEST_SLOW_BLOB_WRITES set, every os.write to a file under the media root's `images/`
folder writes at most 64 KiB and sleeps 20 ms first (a slow disk), so that a test can SIGKILL the
worker while an original's bytes are being written. Without the variable, importing this does nothing.
"""

import os
import time

from django.conf import settings

CHUNK_BYTES = 64 * 1024
DELAY_S = 0.02


def _install() -> None:
    images = os.path.join(str(settings.MEDIA_ROOT), "images") + os.sep
    write = os.write

    def slow_write(fd: int, data: bytes) -> int:  # type: ignore[override]
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.startswith(images):
            return write(fd, data)
        time.sleep(DELAY_S)
        return write(fd, bytes(memoryview(data)[:CHUNK_BYTES]))

    os.write = slow_write


if os.environ.get("WINNOW_TEST_SLOW_BLOB_WRITES"):
    _install()
