"""`ackflow up`'s own process: what startup built stays out of later garbage collections."""

from __future__ import annotations

import gc

from local.up import _leave_startup_out_of_garbage_collection


def test_what_startup_built_is_left_out_of_later_full_collections():
    built_at_startup = {"routes": [{"path": f"/square/{n}"} for n in range(100)]}
    try:
        _leave_startup_out_of_garbage_collection()

        assert gc.get_freeze_count() > 0
        assert not any(o is built_at_startup for o in gc.get_objects(generation=2))
        made_later = {"later": []}
        gc.collect()
        assert any(o is made_later for o in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
