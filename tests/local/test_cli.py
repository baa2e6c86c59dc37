"""The ``ackflow`` command as a new user meets it: every mistake gets one line, no traceback."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import pytest

from local.cli import main
from local.up import Ports
from stack.program import WORKLOADS_PATH_ENV


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``ackflow argv`` expecting exit code 2; its stderr, on one line."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse refuses arguments this way
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return " ".join(err.split())


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "inf", "fast"])
def test_a_time_scale_that_is_not_above_zero_is_refused_before_anything_starts(
    capsys, tmp_path: Path, scale: str
):
    err = refused(capsys, "up", "--state-dir", str(tmp_path), "--time-scale", scale)

    assert "argument --time-scale: must be a number above 0" in err
    assert f"got '{scale}'" in err
    assert list(tmp_path.iterdir()) == []


HIGHEST_BASE = 65535 - (len(dataclasses.fields(Ports)) - 1)


@pytest.mark.parametrize("base", ["0", "-5", str(HIGHEST_BASE + 1), "70000", "x"])
def test_a_port_base_leaving_no_room_for_the_next_ports_is_refused(capsys, base: str):
    err = refused(capsys, "up", "--port-base", base)

    assert HIGHEST_BASE == 65529  # seven ports: REST, Lambda, AWS, sink, Bedrock, page, GraphQL
    assert f"argument --port-base: must be a port from 1 to {HIGHEST_BASE}" in err
    assert f"got '{base}'" in err


def test_a_broken_workload_folder_is_named_with_its_fault(capsys, tmp_path, monkeypatch):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "workload.py").write_text("def x(:\n")
    monkeypatch.setenv(WORKLOADS_PATH_ENV, str(tmp_path))

    err = refused(capsys, "preview")

    assert f"{tmp_path / 'broken'}: workload.py failed to import: SyntaxError" in err


def test_a_workloads_path_naming_no_folder_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKLOADS_PATH_ENV, str(tmp_path / "nowhere"))

    err = refused(capsys, "preview")

    assert f"ACKFLOW_WORKLOADS_PATH names {tmp_path / 'nowhere'}, which is not a folder" in err


def test_a_state_folder_that_cannot_be_made_is_refused_before_anything_starts(capsys, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")

    err = refused(capsys, "up", "--state-dir", str(a_file))

    assert f"cannot use the state folder {a_file / 'dev'}" in err


def test_down_without_a_state_folder_says_there_is_nothing_to_stop(capsys, tmp_path):
    assert main(["down", "--state-dir", str(tmp_path)]) == 0
    assert "nothing to stop: no state folder" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["logs", "fn"], ["slack", "/square 2"]])
def test_a_damaged_endpoints_file_is_named_and_how_it_is_repaired(capsys, tmp_path, command):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "endpoints.json").write_text('{"functions": [')

    err = refused(capsys, *command, "--state-dir", str(tmp_path))

    assert f"cannot read {tmp_path / 'dev' / 'endpoints.json'}" in err
    assert "the next `ackflow up` writes it anew" in err


def test_slack_against_a_stack_that_stopped_says_so(capsys, tmp_path):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "endpoints.json").write_text(
        json.dumps(
            {
                "pid": 4242,
                "functions": [],
                "slack_command_url": f"http://127.0.0.1:{port}/api/slack/commands",
                "slack_signing_secret": "s",
                "response_sink_url": f"http://127.0.0.1:{port}/hooks",
            }
        )
    )

    err = refused(capsys, "slack", "/square 2", "--state-dir", str(tmp_path))

    assert "cannot reach stack dev (" in err
    assert "is its `ackflow up` (pid 4242) still running?" in err


def test_ctrl_c_while_following_a_log_ends_quietly_with_the_shells_code(
    capsys, tmp_path, monkeypatch
):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "endpoints.json").write_text('{"functions": ["fn"]}')

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("local.cli.time.sleep", interrupted)

    assert main(["logs", "fn", "-f", "--state-dir", str(tmp_path)]) == 130
    assert "Traceback" not in capsys.readouterr().err
