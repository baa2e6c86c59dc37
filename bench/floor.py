"""The floor under the paced p99 targets on this machine: a bare accept path in a process of
its own (the baseline server, its inserts group-committed as the event store's are) paced at
each target rate: idle, beside the stack's drain as it runs, and beside work that an
unprivileged user has put behind it.

- Beside the stack draining a backlog with every one of its processes and threads, and the
  autogroups of the sessions it started, at the lowest priority (nice 19): the best an
  accept path of its own, ahead of the workers, could get here while they drain. What still
  slows it is what the priority does not hold back: the lowered work's share of the cores,
  and the kernel's side of the drain's loopback TCP and fsyncs.
- Beside CPU-bound processes at that priority, one per core: the control, what the priority
  alone leaves of CPU contention (on a shared virtual machine, at times tens of ms at p99).

If that server misses a p99 target beside the lowered drain, this machine left no accept path
room for that target while the workers ran, however it is built. The stack's priority cannot
be raised again without privileges, so this is measured last, on Linux (its priorities are per
thread, listed under ``/proc``).

Where Linux's autogroups are on (``/proc/sys/kernel/sched_autogroup_enabled``), the scheduler
first shares the cores between sessions, each at the weight of its autogroup's nice, and only
then between a session's threads by theirs. The stack runs in a session of its own (as from
a user's terminal) and its front process in another, so their threads' nice alone holds them
back only against each other, not against the server: their autogroups are lowered too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.acks import TARGET_RATES, AckCase, measure_at_rate, measure_paced_while_draining

__all__ = [
    "LOWEST_PRIORITY",
    "cpu_bound_processes",
    "lower_autogroups",
    "lower_priority",
    "measure_floor",
]

LOWEST_PRIORITY = 19
PROC = Path("/proc")
AUTOGROUP_RETRIES = 20
"""Tries per autogroup: without privileges, Linux takes one autogroup nice change per 100 ms."""
SPIN = "import os\nos.nice({nice})\nprint('spinning', flush=True)\nwhile True:\n    pass\n"


def measure_floor(stack_pid: int, queue_with: AckCase, server: AckCase) -> dict[str, Any]:
    """``server`` paced at each target rate: idle, beside CPU-bound processes at the lowest
    priority, beside the stack draining the events it accepts through ``queue_with``, then
    beside that drain with the stack (``stack_pid`` and all it started) lowered to that
    priority for good."""
    if not (PROC / "self" / "task").is_dir():
        return {"skipped": "needs Linux: thread priorities are read and set through /proc"}
    rates = sorted(set(TARGET_RATES.values()))
    idle = [measure_at_rate(server, rate) for rate in rates]
    with cpu_bound_processes(os.cpu_count() or 1):
        beside_cpu_bound = [measure_at_rate(server, rate) for rate in rates]
    beside_drain = measure_paced_while_draining(queue_with, server)
    lowered = lower_priority(stack_pid)
    autogroups = lower_autogroups(stack_pid)
    return {
        "server": server.key,
        "idle": idle,
        "beside_cpu_bound": beside_cpu_bound,
        "beside_drain": beside_drain,
        "beside_lowered_drain": measure_paced_while_draining(queue_with, server),
        "lowered": lowered,
        "lowered_autogroups": autogroups,
    }


@contextlib.contextmanager
def cpu_bound_processes(count: int, nice: int = LOWEST_PRIORITY) -> Iterator[list[int]]:
    """``count`` processes spinning on a core each at ``nice``; their pids, once every one
    spins (their interpreters start at the normal priority, which would disturb what is
    measured beside them). Killed on exit."""
    processes = [
        subprocess.Popen([sys.executable, "-c", SPIN.format(nice=nice)], stdout=subprocess.PIPE)
        for _ in range(count)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            process.stdout.readline()
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def lower_priority(pid: int, nice: int = LOWEST_PRIORITY) -> int:
    """Give every thread of ``pid`` and of its descendants ``nice``; returns how many threads.
    (Linux's nice is per thread: a process's other threads keep theirs when it is set.) A
    process that ends meanwhile is passed over; what starts later inherits its parent's."""
    lowered = 0
    for process in [pid, *_descendants(pid)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for thread in (PROC / str(process) / "task").iterdir():
                with contextlib.suppress(ProcessLookupError):
                    os.setpriority(os.PRIO_PROCESS, int(thread.name), nice)
                    lowered += 1
    return lowered


def lower_autogroups(pid: int, nice: int = LOWEST_PRIORITY) -> int:
    """Give ``nice`` to the autogroup of every process of ``pid``'s tree that is in one other
    than the caller's (a session it started); returns how many autogroups (0 where the kernel
    has none). The caller may itself be in none: a process of init's session is in the root
    group, whose ``autogroup`` file is empty."""
    own = _autogroup(PROC / "self")
    lowered: set[str] = set()
    for process in [pid, *_descendants(pid)]:
        path = PROC / str(process)
        group = _autogroup(path)
        if group not in (None, own, *lowered) and _set_autogroup_nice(path, nice):
            lowered.add(group)
    return len(lowered)


def _autogroup(process: Path) -> str | None:
    """The process's autogroup (``/autogroup-<n>``), None if it is in the root group (an empty
    file), has ended, or the kernel has no autogroups."""
    try:
        return (process / "autogroup").read_text().split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _set_autogroup_nice(process: Path, nice: int) -> bool:
    """False if the process ended first, or Linux kept refusing the change."""
    for _ in range(AUTOGROUP_RETRIES):
        try:
            (process / "autogroup").write_text(str(nice))
            return True
        except BlockingIOError:  # another autogroup's nice changed within the last 100 ms
            time.sleep(0.1)
        except (FileNotFoundError, ProcessLookupError):
            return False
    return False


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # The fields after the command's closing parenthesis: state, then the parent.
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, waiting = [], list(children.get(pid, []))
    while waiting:
        child = waiting.pop()
        found.append(child)
        waiting += children.get(child, [])
    return found
