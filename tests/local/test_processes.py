"""``run_in_niced_session``: the runtime's work in a niced session of its own, supervised by
the process the terminal started. Each case runs in a process of its own (it forks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from local.processes import RUNTIME_NICE, _autogroups_on

SCRIPT = """
import json, os, signal, sys, threading, time
from pathlib import Path
from local import processes

report = Path(sys.argv[1])
if sys.argv[2] == "no-autogroups":
    processes._AUTOGROUPS = report.with_suffix(".off")
    processes._AUTOGROUPS.write_text("0")
if sys.argv[2] == "a-thread-runs":
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()


def work():
    autogroup = Path("/proc/self/autogroup")
    report.write_text(json.dumps({
        "pid": os.getpid(),
        "session": os.getsid(0),
        "autogroup": autogroup.read_text() if autogroup.exists() else "",
    }))
    try:
        time.sleep(float(sys.argv[3]))
    except KeyboardInterrupt:
        return 42
    return 3


sys.exit(processes.run_in_niced_session(work))
"""


def start(tmp_path: Path, mode: str = "", seconds: float = 0) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    report = tmp_path / "report.json"
    process = subprocess.Popen(
        [sys.executable, str(script), str(report), mode, str(seconds)],
        cwd=Path(__file__).parents[2],
    )
    return process, report


def reported(report: Path) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if report.is_file() and report.read_text():
            return json.loads(report.read_text())
        time.sleep(0.02)
    raise AssertionError("the work never ran")


def gone(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


needs_autogroups = pytest.mark.skipif(
    not _autogroups_on(), reason="this kernel has no autogroups (the work runs in place)"
)


@needs_autogroups
def test_the_work_runs_in_a_niced_session_of_its_own_and_its_exit_code_is_returned(tmp_path):
    process, report = start(tmp_path)

    assert process.wait(timeout=20) == 3
    work = reported(report)
    assert work["pid"] != process.pid
    assert work["session"] == work["pid"] != os.getsid(0)  # the script ran in this session
    assert work["autogroup"].split()[-2:] == ["nice", str(RUNTIME_NICE)]


@needs_autogroups
def test_ctrl_c_and_termination_reach_the_work(tmp_path):
    interrupted, report = start(tmp_path, seconds=30)
    reported(report)
    interrupted.send_signal(signal.SIGINT)
    assert interrupted.wait(timeout=10) == 42  # the work's own answer to KeyboardInterrupt

    report.unlink()
    terminated, report = start(tmp_path, seconds=30)
    reported(report)
    terminated.terminate()
    assert terminated.wait(timeout=10) == 128 + signal.SIGTERM  # shell-style, as the work died


@needs_autogroups
def test_a_kill_9_of_the_supervisor_is_one_of_the_work(tmp_path):
    process, report = start(tmp_path, seconds=30)
    work = reported(report)

    process.kill()
    process.wait(timeout=10)

    assert gone(work["pid"])


@pytest.mark.parametrize("mode", ["no-autogroups", "a-thread-runs"])
def test_without_autogroups_or_with_threads_running_the_work_runs_in_place(tmp_path, mode):
    process, report = start(tmp_path, mode)

    assert process.wait(timeout=20) == 3
    assert reported(report)["pid"] == process.pid
