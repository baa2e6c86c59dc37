"""How the runtime's own processes run: on uvloop, never outliving their parent, and below the
front process on the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["RUNTIME_NICE", "exit_with_parent", "run_event_loop", "run_in_niced_session"]

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1
RUNTIME_NICE = 3
"""The nice value of the runtime's autogroup (:func:`run_in_niced_session`): about half the
front's weight. The runtime's session holds the whole drain (the engine, the environments and
moto). On the project's 2-core machine, four rounds on one stack paced at the ack targets while
the workers drained, at nice 0, 3 and 5 in turn: REST p99 at 1,500/s 9.2-22 ms, 5.8-9.0 and
5.6-10; the Invoke API's at 2,000/s 5.3-16 ms, 3.5-5.4 and 3.4-4.5. Lower priority costs the
drain beside the acks: at 5 (with moto then at the normal priority in a session of its own)
``make bench`` measured 290-370 events/s beside paced acks, so the intake held them, and REST
sync at 32 fell to 924/s."""
_AUTOGROUPS = Path("/proc/sys/kernel/sched_autogroup_enabled")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed (its loop and transports take about a
    third less time per request than asyncio's), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def exit_with_parent() -> None:
    """Have the kernel kill this process (SIGKILL) when its parent dies (Linux)."""
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os.kill(os.getpid(), signal.SIGKILL)


def run_in_niced_session(work: Callable[[], int]) -> int:
    """``work()`` in a session of its own whose autogroup is niced (:data:`RUNTIME_NICE`), so
    the runtime's own work (the async engine, the Lambda service, the execution environments)
    yields the cores to the front process, which accepts events in a session of its own at the
    normal priority. AWS's front door does not share machines with the functions a backlog
    runs; here an ack waited behind them. Where Linux's autogroups are on, the scheduler
    shares the cores between sessions first, so niceness has to be the session's.

    Measured with ``make bench`` on the project's 2-core machine, one run apart: the REST
    gateway's paced ack p99 20.1 ms at nice 0, 7.8 ms at nice 3 (target 15); the Invoke API's
    6.7 and 4.6 ms (target 10); the 10,000-event burst 756 and 771 events/s; REST sync at 32
    concurrent 1,078 and 1,043/s.

    This process forks: the child becomes the session (a process can start a session only if
    it does not lead a process group, and a shell makes its commands leaders) and returns
    ``work()``'s result; this process stays in the terminal's session, passes Ctrl-C and
    termination on, and returns the child's exit code. The child dies with it (SIGKILL), so
    a kill -9 of ``ackflow up`` is still one of the runtime. Without autogroups, or with
    threads already running (forking those is unsafe), ``work()`` runs here, at the normal
    priority.
    """
    if not _autogroups_on() or threading.active_count() > 1:
        return work()
    if os.getsid(0) == os.getpid():  # already a session's leader: nice its autogroup
        _nice_own_autogroup()
        return work()
    sys.stdout.flush()  # or the child writes it again
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        os.setsid()
        exit_with_parent()
        _nice_own_autogroup()
        return work()
    return _supervise(child)


def _autogroups_on() -> bool:
    try:
        return _AUTOGROUPS.read_text().strip() == "1"
    except OSError:
        return False


def _nice_own_autogroup() -> None:
    with contextlib.suppress(OSError):  # not allowed or not there: the normal priority
        Path("/proc/self/autogroup").write_text(str(RUNTIME_NICE))


def _supervise(child: int) -> int:
    """Wait for ``child``, passing the signals that stop it on; its exit code, shell-style."""

    def forward(signum: int, _: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in _FORWARDED:
        signal.signal(signum, forward)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code
