"""The state folder: one holder at a time, refused at once with who holds it; private files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local.cloud import state
from local.cloud.state import LOCK_FILE, StateError, StateLocked, hold_state_dir, write_private

HOLDER = {"command": "ackflow up", "ports": {"rest": 4750, "lambda": 4751}}


def test_a_second_holder_is_refused_at_once_naming_the_first_ones_pid_and_ports(tmp_path: Path):
    with (
        hold_state_dir(tmp_path / "dev", HOLDER),
        pytest.raises(StateLocked) as refused,
        hold_state_dir(tmp_path / "dev", {"command": "ackflow up"}),
    ):
        pytest.fail("two holders at once")

    message = str(refused.value)
    assert f"in use by ackflow up (pid {os.getpid()}; ports rest 4750, lambda 4751)" in message
    assert f"kill {os.getpid()}" in message
    assert str(tmp_path / "dev") in message


def test_the_lock_is_free_again_once_the_holder_is_done(tmp_path: Path):
    with hold_state_dir(tmp_path, HOLDER):
        pass
    with hold_state_dir(tmp_path, HOLDER):
        assert (tmp_path / LOCK_FILE).read_text().startswith("{")
    assert (tmp_path / LOCK_FILE).read_text() == ""


def test_a_holder_killed_with_sigkill_leaves_the_folder_free(tmp_path: Path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from local.cloud.state import hold_state_dir
                with hold_state_dir(Path({str(tmp_path)!r}), {{"command": "holder"}}):
                    print("held", flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        locked = rf"in use by holder \(pid {holder.pid}\)"
        with pytest.raises(StateLocked, match=locked), hold_state_dir(tmp_path, HOLDER):
            pass
        holder.kill()
        holder.wait()
        with hold_state_dir(tmp_path, HOLDER):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_new_state_folder_is_private_to_its_user(tmp_path: Path):
    with hold_state_dir(tmp_path / "dev", HOLDER):
        pass
    assert stat.S_IMODE((tmp_path / "dev").stat().st_mode) == 0o700


def test_a_state_folder_that_cannot_be_made_is_named_without_a_traceback(tmp_path: Path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    refused = rf"cannot use the state folder {not_a_folder}/dev"
    with pytest.raises(StateError, match=refused), hold_state_dir(not_a_folder / "dev", HOLDER):
        pass


def test_a_private_file_is_0600_from_its_first_byte_even_under_a_permissive_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = tmp_path / "endpoints.json"
    target.write_text("old")
    target.chmod(0o644)
    modes_before_rename: list[int] = []
    replace = os.replace

    def checking_replace(source: str, destination: Path) -> None:
        modes_before_rename.append(stat.S_IMODE(os.stat(source).st_mode))
        replace(source, destination)

    monkeypatch.setattr(state.os, "replace", checking_replace)
    previous = os.umask(0)
    try:
        write_private(target, '{"slack_signing_secret": "s"}')
    finally:
        os.umask(previous)

    assert modes_before_rename == [0o600]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == '{"slack_signing_secret": "s"}'
    assert [p.name for p in tmp_path.iterdir()] == ["endpoints.json"]  # no temporary left
