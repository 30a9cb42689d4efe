"""A process-wide cap on the bytes of decoded pixels that concurrent image decodes hold at once.

Decode threads (an import's pool, several imports in one worker process) each hold a whole decoded
image; a few small files of large dimensions (a 400 KB TIFF of 7000×7000 int32 is 196 MB decoded)
would otherwise add up to gigabytes. Each decode reserves its pixels' bytes, estimated from the
header, and waits while the reservations of others leave too little room.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

# Bytes per pixel in Pillow's own storage: every multi-band mode ("RGB" included) is stored 4 bytes wide.
PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "BGR;15": 2, "BGR;16": 2}


class DecodeBudget:
    """A semaphore counted in bytes: a reservation waits until it fits under `capacity` beside the others.

    A reservation larger than the whole capacity is cut to the capacity, so that one image over the
    budget (but within the pixel limit) still decodes, alone.
    """

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 1)
        self.in_use = 0
        self._changed = threading.Condition()

    def acquire(self, nbytes: int, *, blocking: bool = True) -> int | None:
        """Reserve `nbytes` (cut to the capacity); returns the bytes reserved, or None when not blocking and full."""
        nbytes = min(max(int(nbytes), 0), self.capacity)
        with self._changed:
            while self.in_use + nbytes > self.capacity:
                if not blocking:
                    return None
                self._changed.wait()
            self.in_use += nbytes
        return nbytes

    def release(self, reserved: int) -> None:
        with self._changed:
            self.in_use -= reserved
            self._changed.notify_all()

    @contextmanager
    def reserved(self, nbytes: int) -> Iterator[None]:
        taken = self.acquire(nbytes)
        assert taken is not None  # a blocking acquire always reserves
        try:
            yield
        finally:
            self.release(taken)


_budget_lock = threading.Lock()
_budget: DecodeBudget | None = None


def decode_budget() -> DecodeBudget:
    """This process's budget, of IMPORT_DECODE_BUDGET_BYTES (rebuilt when the setting changes)."""
    global _budget
    with _budget_lock:
        if _budget is None or _budget.capacity != max(settings.IMPORT_DECODE_BUDGET_BYTES, 1):
            _budget = DecodeBudget(settings.IMPORT_DECODE_BUDGET_BYTES)
        return _budget


def decoded_bytes_estimate(*, mode: str, size: tuple[int, int], transposed: bool = False) -> int:
    """Bytes a decode of an image of `mode` and `size` holds at its peak: its pixels, twice when its EXIF
    orientation has it transposed (the transposed copy exists beside the original for a moment)."""
    width, height = size
    return width * height * PIXEL_BYTES.get(mode, 4) * (2 if transposed else 1)
