"""What the async queue holds, per function: for ``ackflow events`` and for scripts.

It reads the engine's ``events.sqlite3`` on a read-only connection, one read transaction per
snapshot: in WAL mode a reader never blocks the engine's writes, and a read-only connection
cannot take the write lock at all, so a running ``ackflow events`` never locks the engine out.

Counts: ``queued`` (waiting for a first try), ``running``, ``retrying`` (back in the queue
after a function error or a throttle), ``done`` by condition (finished events still kept:
see the engine's retention), ``deliveries_pending`` (records and DLQ messages not yet taken
by their target), and the drain rate: events finished per second over the last
``window`` seconds, from which ``eta_seconds`` says how long the backlog will take. And
``longest_wait_seconds``: how long the oldest event waiting for its first try has waited
(the runtime's downtime left out, as it does not age events). Held against the function's
maximum event age at the time scale, it shows a backlog about to age events out.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rich.live import Live
from rich.table import Table

from local.async_invoke.records import EVENT_AGE_EXCEEDED, RETRIES_EXHAUSTED, SUCCESS
from local.async_invoke.store import AWAITING_FIRST_RUN, BUSY_TIMEOUT_SECONDS, NOT_IMPORTED

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from rich.console import Console

__all__ = [
    "CONDITION_ORDER",
    "DEFAULT_WINDOW_SECONDS",
    "FunctionStats",
    "Snapshot",
    "open_read_only",
    "read_snapshot",
    "snapshot_table",
    "watch",
]

DEFAULT_WINDOW_SECONDS = 10.0
CONDITION_ORDER = (SUCCESS, RETRIES_EXHAUSTED, EVENT_AGE_EXCEEDED)


@dataclass
class FunctionStats:
    """One function's share of the queue."""

    queued: int = 0
    running: int = 0
    retrying: int = 0
    done: dict[str, int] = field(default_factory=dict)
    deliveries_pending: int = 0
    drain_rate: float = 0.0
    """Events finished per second over the window."""
    longest_wait_seconds: float | None = None
    """How long the oldest queued event (first try) has waited; None when none waits."""

    @property
    def backlog(self) -> int:
        return self.queued + self.running + self.retrying

    @property
    def eta_seconds(self) -> float | None:
        """How long the backlog takes at the current drain rate; None when it does not drain."""
        if not self.backlog:
            return 0.0
        return self.backlog / self.drain_rate if self.drain_rate else None


@dataclass
class Snapshot:
    """The queue at one moment."""

    at: float
    window_seconds: float
    functions: dict[str, FunctionStats]

    def conditions(self) -> list[str]:
        """The conditions seen, AWS's three first."""
        seen = {c for stats in self.functions.values() for c in stats.done}
        return [c for c in CONDITION_ORDER if c in seen] + sorted(seen - set(CONDITION_ORDER))

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "window_seconds": self.window_seconds,
            "functions": {
                name: {**asdict(stats), "eta_seconds": stats.eta_seconds}
                for name, stats in sorted(self.functions.items())
            },
        }


def open_read_only(db_path: Path, inbox_path: Path | None = None) -> sqlite3.Connection:
    """A connection that can only read ``db_path`` (it must exist), and the front's inbox
    (:mod:`local.async_invoke.inbox`) at ``inbox_path`` if there is one: its events not yet
    taken by the engine count as queued."""
    if not db_path.is_file():
        raise FileNotFoundError(db_path)
    db = sqlite3.connect(
        _read_only_uri(db_path),
        uri=True,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    if inbox_path is not None and inbox_path.is_file():
        db.execute("ATTACH DATABASE ? AS inbox", (_read_only_uri(inbox_path),))
    return db


def _read_only_uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def _has_inbox(db: sqlite3.Connection) -> bool:
    return any(name == "inbox" for _, name, _ in db.execute("PRAGMA database_list"))


def read_snapshot(
    db: sqlite3.Connection,
    *,
    functions: list[str] | None = None,
    now: float | None = None,
    window: float = DEFAULT_WINDOW_SECONDS,
) -> Snapshot:
    """The queue per function (every function of ``functions`` listed, even when empty)."""
    now = time.time() if now is None else now
    stats: dict[str, FunctionStats] = {name: FunctionStats() for name in functions or []}

    def of(name: str) -> FunctionStats:
        return stats.setdefault(name, FunctionStats())

    db.execute("BEGIN")  # one read transaction: the counts agree with each other
    try:
        for name, queued, running, retrying, waiting_since in db.execute(
            "SELECT function_name,"
            f" sum({AWAITING_FIRST_RUN}),"
            " sum(state = 'running'),"
            " sum(state = 'queued' AND (attempts > 0 OR backoffs > 0)),"
            f" min(CASE WHEN {AWAITING_FIRST_RUN} THEN received_at + paused_seconds END)"
            " FROM events WHERE state IN ('queued', 'running') GROUP BY function_name"
        ):
            of(name).queued, of(name).running, of(name).retrying = queued, running, retrying
            if waiting_since is not None:
                of(name).longest_wait_seconds = max(0.0, now - waiting_since)
        inbox = (
            db.execute(
                f"SELECT function_name, count(*), min(received_at) FROM {NOT_IMPORTED}"
                " GROUP BY function_name"
            )
            if _has_inbox(db)
            else ()
        )
        for name, queued, waiting_since in inbox:
            of(name).queued += queued
            wait = max(0.0, now - waiting_since)
            of(name).longest_wait_seconds = max(of(name).longest_wait_seconds or 0.0, wait)
        for name, condition, count in db.execute(
            "SELECT function_name, condition, count(*) FROM events WHERE state = 'done'"
            " GROUP BY function_name, condition"
        ):
            of(name).done[condition] = count
        for name, count in db.execute(
            "SELECT function_name, count(*) FROM events WHERE state = 'done'"
            " AND finished_at >= ? GROUP BY function_name",
            (now - window,),
        ):
            of(name).drain_rate = count / window
        for name, count in db.execute(
            "SELECT e.function_name, count(*) FROM deliveries AS d"
            " JOIN events AS e ON e.request_id = d.request_id"
            " WHERE d.state IN ('pending', 'sending') GROUP BY e.function_name"
        ):
            of(name).deliveries_pending = count
    finally:
        db.execute("COMMIT")
    return Snapshot(at=now, window_seconds=window, functions=stats)


def snapshot_table(snapshot: Snapshot, title: str = "async events") -> Table:
    """The snapshot as a table: a row per function, a column per count."""
    conditions = snapshot.conditions()
    table = Table(title=title, title_justify="left")
    for header in ("function", "queued", "running", "retrying", *conditions):
        table.add_column(header, justify="left" if header == "function" else "right")
    table.add_column("deliveries pending", justify="right")
    table.add_column(f"drained/s ({snapshot.window_seconds:g} s)", justify="right")
    table.add_column("backlog clears in", justify="right")
    table.add_column("longest wait", justify="right")
    for name, stats in sorted(snapshot.functions.items()):
        eta = stats.eta_seconds
        wait = stats.longest_wait_seconds
        table.add_row(
            name,
            str(stats.queued),
            str(stats.running),
            str(stats.retrying),
            *(str(stats.done.get(condition, 0)) for condition in conditions),
            str(stats.deliveries_pending),
            f"{stats.drain_rate:,.1f}",
            "—" if eta is None else ("done" if eta == 0 else f"{eta:,.0f} s"),
            "—" if wait is None else f"{wait:,.1f} s",
        )
    return table


def watch(
    db: sqlite3.Connection,
    console: Console,
    *,
    functions: list[str] | None = None,
    interval: float = 1.0,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Keep a live table on ``console`` until interrupted (or ``keep_going`` says stop)."""
    snapshot = read_snapshot(db, functions=functions)
    with Live(snapshot_table(snapshot), console=console, auto_refresh=False) as live:
        while keep_going():
            time.sleep(interval)
            snapshot = read_snapshot(db, functions=functions)
            live.update(snapshot_table(snapshot), refresh=True)
