"""How the runtime's own processes run: on uvloop, and never outliving their parent."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["exit_with_parent", "run_event_loop"]

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


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
