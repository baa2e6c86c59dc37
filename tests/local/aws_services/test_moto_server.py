"""The AWS services process: adopted or signalled only once it is shown to be ackflow's moto.

A pid file outlives its process and the pid may be reused by another program: ``ackflow down``
and ``ackflow up`` check the command line and the process group before they signal anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.aws_services.moto_server import MOTO_MODULE, AwsServices
from local.cli import main
from tests.e2e.runner import free_port_base

SLEEP = "import time; print('ready', flush=True); time.sleep(60)"


@pytest.fixture
def decoys() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def decoy(decoys: list, *extra_args: str, own_group: bool = True) -> subprocess.Popen[bytes]:
    """A running process that sleeps; ``extra_args`` make its command line look like moto's."""
    process = subprocess.Popen(
        [sys.executable, "-c", SLEEP, *extra_args],
        start_new_session=own_group,
        stdout=subprocess.PIPE,
    )
    decoys.append(process)
    # Until the program runs, /proc may still show an empty command line (mid-exec).
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def write_pid_file(state_dir: Path, pid: int, port: int) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = state_dir / "moto.pid"
    pid_file.write_text(json.dumps({"pid": pid, "port": port}))
    return pid_file


@pytest.mark.parametrize(
    ("args", "own_group", "port"),
    [
        pytest.param((), True, 4752, id="another-program"),
        pytest.param(("-m", MOTO_MODULE, "-p", "4999"), True, 4752, id="moto-on-another-port"),
        pytest.param(("-m", MOTO_MODULE, "-p", "4752"), False, 4752, id="not-a-group-leader"),
    ],
)
def test_down_refuses_to_signal_a_process_that_is_not_our_moto(
    tmp_path: Path, capsys, decoys: list, args: tuple[str, ...], own_group: bool, port: int
):
    stranger = decoy(decoys, *args, own_group=own_group)
    pid_file = write_pid_file(tmp_path / "dev", stranger.pid, port)

    assert main(["down", "--state-dir", str(tmp_path)]) == 2

    err = " ".join(capsys.readouterr().err.split())
    assert f"names pid {stranger.pid}, which is not ackflow's AWS services" in err
    assert "left it running" in err
    assert stranger.poll() is None, "the stranger was signalled"
    assert pid_file.exists()


def test_down_forgets_a_pid_file_whose_process_is_gone(tmp_path: Path, capsys, decoys: list):
    gone = decoy(decoys)
    gone.kill()
    gone.wait()
    pid_file = write_pid_file(tmp_path / "dev", gone.pid, 4752)

    assert main(["down", "--state-dir", str(tmp_path)]) == 0
    assert not pid_file.exists()


def test_our_moto_leads_a_group_in_our_session_is_adopted_by_the_next_run_and_stopped(
    tmp_path: Path,
):
    port = free_port_base(1)
    first = AwsServices(tmp_path, port, "us-east-1")
    assert first.start() is False
    recorded = json.loads((tmp_path / "moto.pid").read_text())
    assert recorded["port"] == port
    moto = recorded["pid"]
    try:
        # Its own group (Ctrl-C reaches the runtime alone), in our session (one autogroup)
        assert (os.getpgid(moto), os.getsid(moto)) == (moto, os.getsid(0))
        second = AwsServices(tmp_path, port, "us-east-1")
        assert second.start() is True, "a healthy moto of this folder on this port is adopted"
        assert json.loads((tmp_path / "moto.pid").read_text())["pid"] == moto

        second.stop()
        assert not (tmp_path / "moto.pid").exists()
        assert _gone(moto)
    finally:
        first.stop()


def test_a_leftover_moto_on_another_port_is_stopped_before_a_new_one_starts(tmp_path: Path):
    old_port, new_port = free_port_base(1), free_port_base(1)
    old = AwsServices(tmp_path, old_port, "us-east-1")
    old.start()
    old_pid = json.loads((tmp_path / "moto.pid").read_text())["pid"]
    new = AwsServices(tmp_path, new_port, "us-east-1")
    try:
        assert new.start() is False
        assert _gone(old_pid), "the crashed run's moto was orphaned"
        assert json.loads((tmp_path / "moto.pid").read_text())["port"] == new_port
    finally:
        new.stop()
        old.stop()


def _gone(pid: int, seconds: float = 10) -> bool:
    """Whether ``pid`` ends (or is a zombie) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False
