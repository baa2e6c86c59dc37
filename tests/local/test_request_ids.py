"""Request ids: AWS's shapes, unique, whatever a test does to :mod:`random`, and across a fork."""

from __future__ import annotations

import base64
import os
import random
import uuid

from local.request_ids import new_extended_request_id, new_request_id


def test_request_ids_are_distinct_random_uuids():
    ids = [new_request_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
    for text in ids[:100]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_extended_ids_are_ten_random_bytes_in_base64():
    ids = {new_extended_request_id() for _ in range(1_000)}

    assert len(ids) == 1_000
    assert all(len(base64.b64decode(text, validate=True)) == 10 for text in ids)


def test_seeding_random_does_not_make_ids_repeat():
    random.seed(0)
    first = new_request_id()
    random.seed(0)
    assert new_request_id() != first


def test_a_forked_child_does_not_repeat_its_parents_ids():
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    parents = new_request_id()
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as pipe:
        childs = pipe.read().decode()

    assert uuid.UUID(childs).version == 4
    assert childs != parents
