"""An environment's process: started outside the event loop's own subprocess machinery, its
exit reported on the loop, leading a process group of its own (so the whole group can be
killed) in the runtime's session (so that the scheduler does not weigh each environment as a
session of its own)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
import uvloop

from local.lambda_.process import ChildProcess

EXIT_3_AFTER_GREETING = "import os, sys; print(os.environ['GREETING']); sys.exit(3)"
LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture(params=sorted(LOOPS))
def run(request):
    return LOOPS[request.param]


def test_its_exit_status_and_output_reach_the_loop(run, tmp_path):
    log_path = tmp_path / "out.log"

    async def scenario():
        with log_path.open("ab") as log:
            child = ChildProcess(
                (sys.executable, "-c", EXIT_3_AFTER_GREETING),
                cwd=tmp_path,
                env={**os.environ, "GREETING": "hello"},
                output=log,
            )
            return await asyncio.wait_for(child.exited, 10), child.returncode

    assert run(scenario()) == (3, 3)
    assert log_path.read_text() == "hello\n"


def test_it_leads_its_own_group_in_our_session_and_a_signal_reads_as_negative(run, tmp_path):
    async def scenario():
        with (tmp_path / "out.log").open("ab") as log:
            child = ChildProcess(
                (sys.executable, "-c", "import time; time.sleep(60)"),
                cwd=tmp_path,
                env=dict(os.environ),
                output=log,
            )
            placed = (os.getpgid(child.pid), os.getsid(child.pid))
            os.killpg(child.pid, signal.SIGKILL)
            return placed, child.pid, await asyncio.wait_for(child.exited, 10)

    (group, session), pid, status = run(scenario())
    assert (group, session) == (pid, os.getsid(0))
    assert status == -signal.SIGKILL
