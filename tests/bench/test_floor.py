"""The floor's two tools: lowering a process tree's priority, thread by thread, and CPU-bound
processes at the lowest priority. Real processes, read back through /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.floor import LOWEST_PRIORITY, cpu_bound_processes, lower_autogroups, lower_priority

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux")

# A child with a second thread, and a grandchild: every one of their threads must be lowered.
TREE = """
import subprocess, sys, threading, time
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(grandchild.pid, flush=True)
time.sleep(60)
"""


def nice_of(tid: int) -> int:
    """A thread's nice value, from its stat line (the 19th field; the 17th after the name)."""
    stat = Path(f"/proc/{tid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def threads_of(pid: int) -> list[int]:
    return [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]


def wait_for_threads(pid: int, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(threads_of(pid)) < count:
        assert time.monotonic() < deadline, f"process {pid} did not start its threads"
        time.sleep(0.01)


def test_lower_priority_reaches_every_thread_of_the_process_and_its_descendants():
    child = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    try:
        wait_for_threads(child.pid, 2)
        threads = threads_of(child.pid) + threads_of(grandchild)
        assert {nice_of(t) for t in threads} == {os.getpriority(os.PRIO_PROCESS, 0)}

        lowered = lower_priority(child.pid)

        assert lowered == len(threads)
        assert {nice_of(t) for t in threads} == {LOWEST_PRIORITY}
        assert nice_of(os.getpid()) != LOWEST_PRIORITY  # the caller keeps its own
    finally:
        os.kill(grandchild, signal.SIGKILL)
        child.kill()
        child.wait()


# A child in the caller's session, and a grandchild in a session (so an autogroup) of its own,
# as the stack starts its execution environments and its AWS services.
SESSIONS = """
import subprocess, sys, time
grandchild = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
)
print(grandchild.pid, flush=True)
time.sleep(60)
"""


def autogroup_of(pid: int | str) -> tuple[str, int] | None:
    """A process's autogroup and its nice, from ``/proc/<pid>/autogroup``; None in the root
    group (the file is empty), where a process of init's session is, as under some CI runners."""
    fields = Path(f"/proc/{pid}/autogroup").read_text().split()
    if not fields:
        return None
    name, _, nice = fields
    return name, int(nice)


def test_lower_autogroups_lowers_the_sessions_a_tree_started_and_not_the_callers():
    child = subprocess.Popen([sys.executable, "-c", SESSIONS], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    try:
        if not Path("/proc/self/autogroup").exists():  # a kernel built without them
            assert lower_autogroups(child.pid) == 0
            return
        own = autogroup_of("self")
        assert autogroup_of(child.pid) == own
        assert autogroup_of(grandchild) not in (None, own)

        assert lower_autogroups(child.pid) == 1

        assert autogroup_of(grandchild)[1] == LOWEST_PRIORITY
        assert autogroup_of("self") == own == autogroup_of(child.pid)
    finally:
        os.kill(grandchild, signal.SIGKILL)
        child.kill()
        child.wait()


def test_cpu_bound_processes_spin_at_the_lowest_priority_until_the_block_ends():
    with cpu_bound_processes(2) as pids:
        time.sleep(0.5)
        assert [nice_of(pid) for pid in pids] == [LOWEST_PRIORITY] * 2
        cpu = [_cpu_seconds(pid) for pid in pids]
        assert all(seconds > 0.05 for seconds in cpu), f"not spinning: {cpu} CPU seconds"

    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
