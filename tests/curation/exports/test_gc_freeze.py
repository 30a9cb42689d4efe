"""The export hides startup objects from the garbage collector while it runs, and only then."""

import gc

from jobs.runtime import startup_objects_frozen


def test_objects_are_frozen_during_the_block_and_released_after():
    gc.unfreeze()

    with startup_objects_frozen():
        frozen_inside = gc.get_freeze_count()

    assert frozen_inside > 1000
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_its_objects_itself_keeps_them_frozen():
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 1000
        with startup_objects_frozen():
            pass
        # Not an exact count: a frozen object that dies meanwhile (another thread's) leaves the
        # permanent generation. Unfreezing would have emptied it.
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
