"""Bad input, catalogued: every case of tests/e2e/bad_inputs.py against one real `ackflow up`.

After each case: the edge answered what AWS answers, within the deadline; nothing was queued
(the async engine's events, read-only from its SQLite file) and no worker started beyond what
the case says (each worker's log, its START lines); and the edge still serves a good request.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.async_invoke.inbox import INBOX_FILE
from tests.e2e.bad_inputs import CASES, BadInput, Edge
from tests.e2e.edges import Observed, send, serves
from tests.e2e.runner import RunningStack

_START = re.compile(r" START RequestId: (\S+) ")


@dataclass(frozen=True)
class QueuedEvents:
    """The async engine's events, read without ever locking its store."""

    count: int
    request_ids: frozenset[str]

    @classmethod
    def read(cls, stack: RunningStack) -> QueuedEvents:
        """The events in the store and those acknowledged into its inbox, not taken yet."""
        ids: list[str] = []
        for file, table in (("events.sqlite3", "events"), (INBOX_FILE, "inbox")):
            store = stack.state_dir / file
            with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
                ids += (row[0] for row in db.execute(f"SELECT request_id FROM {table}"))
        return cls(len(set(ids)), frozenset(ids))


class WorkerStarts:
    """The START lines the workers' logs gain from now on."""

    def __init__(self, stack: RunningStack) -> None:
        self._logs = [Path(w["log_file"]) for w in stack.endpoints["workloads"].values()]
        self._offsets = {log: _size(log) for log in self._logs}

    def since(self) -> list[str]:
        """The request ids of the invocations started since this was made."""
        started = []
        for log in filter(Path.exists, self._logs):
            with log.open("rb") as lines:
                lines.seek(self._offsets[log])
                started += _START.findall(lines.read().decode(errors="replace"))
        return started


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_gets_awss_answer_queues_nothing_and_the_edge_still_serves(
    running_stack: RunningStack, case: BadInput
):
    before = QueuedEvents.read(running_stack)
    starts = WorkerStarts(running_stack)

    observed = send(running_stack, case.request)

    assert_answer(observed, case)
    after = QueuedEvents.read(running_stack)
    if case.queued:
        assert after.request_ids - before.request_ids == {observed.request_id}
        assert observed.condition == "RetriesExhausted"  # each attempt failed at once
        assert observed.chunks == 0  # and nothing was streamed
    else:
        assert after.count == before.count, "the bad input was queued"
    unexpected = [r for r in starts.since() if r not in before.request_ids | {observed.request_id}]
    assert len(unexpected) == case.worker_runs, f"workers started: {unexpected}"
    serves(running_stack, case.edge)


def assert_answer(observed: Observed, case: BadInput) -> None:
    expected = case.answer
    if expected.status is not None:
        assert observed.status == expected.status, observed
    if expected.message_type is not None:
        assert observed.message_type == expected.message_type, observed
        assert observed.close_code == expected.close_code, observed
    assert observed.error_type == expected.error_type, observed
    assert expected.gist in observed.message, observed


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_case_is_refused_with_a_reason_unless_aws_serves_it(case: BadInput):
    answer = case.answer
    refused = (
        (answer.status is not None and 400 <= answer.status < 500)
        or answer.message_type in ("error", "connection_error", "close")
        or (answer.status == 200 and answer.error_type is not None)  # a GraphQL error
        or case.queued
    )
    assert refused != case.accepted
    assert case.accepted or answer.gist or answer.close_code
    assert case.source


def test_the_catalogue_covers_every_edge_with_at_least_40_inputs():
    assert {case.edge for case in CASES} == set(Edge)
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


def _size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0
