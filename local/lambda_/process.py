"""Starting an environment's process without stalling the event loop.

uvloop's subprocesses are libuv's, which ``fork()`` the whole runtime: the kernel copies
the page tables of every megabyte the runtime holds (V8 isolates, boto3, the stack), on the
event loop, with the GIL held. Measured on this project's machine: 3 ms at 50 MB resident,
14 ms at 300 MB, 32 ms at 1 GB, per cold start. :class:`subprocess.Popen` starts it with
``vfork()``, 0.2 ms at any size. A thread of its own waits for its exit (not
``asyncio.to_thread``: an environment would hold one of the default executor's few workers for
its whole life, and the destination sends run there).

Each environment is a process group of its own (so that it is killed with what it started),
in the runtime's session. Not a session of its own: where Linux's autogroups are on, the
scheduler shares the cores between sessions first, so sixteen busy environments, each its own
session, outweighed the front process (:mod:`local.front`) sixteen to one while a burst
drained. Side by side on the project's 2-core machine (two blocks of three paced runs each,
the front in a session of its own): the REST gateway's ack p99 at 1,500/s went from 24-49 ms
to 17-35 ms, its p50 from 6-16 ms to 4-7 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

__all__ = ["ChildProcess"]


class ChildProcess:
    """A started process and a future of its exit status (a negative signal number when a
    signal ended it, as :attr:`subprocess.Popen.returncode` says)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        output: IO[bytes],
    ) -> None:
        loop = asyncio.get_running_loop()
        self._popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            process_group=0,
        )
        self.pid = self._popen.pid
        self.exited: asyncio.Future[int] = loop.create_future()
        threading.Thread(
            target=self._wait, args=(loop,), name=f"wait-{self.pid}", daemon=True
        ).start()

    @property
    def returncode(self) -> int | None:
        """None while it runs."""
        return self._popen.returncode

    def _wait(self, loop: asyncio.AbstractEventLoop) -> None:
        returncode = self._popen.wait()
        with contextlib.suppress(RuntimeError):  # the loop closed first: nobody is waiting
            loop.call_soon_threadsafe(self._settle, returncode)

    def _settle(self, returncode: int) -> None:
        if not self.exited.done():
            self.exited.set_result(returncode)
