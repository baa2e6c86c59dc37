"""Starting, stopping and crashing `ackflow up`: nothing acknowledged is lost."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local.aws_services.moto_server import port_is_free
from tests.e2e.runner import (
    STACK_FILE,
    TIME_SCALE,
    RunningStack,
    ackflow_command,
    free_port_base,
    receive_records,
)

BURST = 30


def test_ctrl_c_stops_every_service_and_frees_the_ports(tmp_path):
    stack = RunningStack(tmp_path, free_port_base())
    stack.start()
    try:
        assert stack.stop() == 0
        for port in range(stack.port_base, stack.port_base + 4):
            assert port_is_free(port), f"something still listens on {port}"
        assert not (stack.state_dir / "moto.pid").exists()
    finally:
        stack.down()


def test_under_make_run_killing_the_parent_takes_ackflow_up_down(tmp_path):
    stack = RunningStack(tmp_path, free_port_base())
    parent = subprocess.Popen(  # stands in for make, which runs `ackflow up` as its child
        [
            sys.executable,
            "-c",
            "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))",
            *stack.command(),
        ],
        env={**os.environ, "ACKFLOW_EXIT_WITH_PARENT": "1", **stack.environment()},
    )
    try:
        stack.wait_until_up(parent)
        pid = stack.endpoints["pid"]
        assert pid != parent.pid

        parent.kill()
        parent.wait()

        deadline = time.monotonic() + 10
        while (_alive(pid) or not port_is_free(stack.port_base)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "ackflow up outlived its parent"
        assert port_is_free(stack.port_base), "its REST port is still taken"
    finally:
        stack.down()


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_busy_port_is_refused_with_a_clear_error(tmp_path):
    base = free_port_base()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base))
        squatter.listen()
        result = subprocess.run(
            [
                *ackflow_command(),
                "up",
                "--stack-file",
                str(STACK_FILE),
                "--state-dir",
                str(tmp_path),
                "--port-base",
                str(base),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {base} (REST gateway) is in use" in result.stderr
    assert "--port-base" in result.stderr


def test_kill_9_mid_burst_then_restart_runs_every_acknowledged_event_to_success(tmp_path):
    stack = RunningStack(tmp_path, free_port_base())
    stack.start()
    try:
        sleeper = stack.workload("sleeper")
        lam = stack.client("lambda", attempts=1)  # a refused request is simply not acknowledged

        def send(n: int) -> int | None:
            try:
                answer = lam.invoke(
                    FunctionName=sleeper["function_name"],
                    InvocationType="Event",
                    Payload=json.dumps({"n": n, "sleep": 0.2}).encode(),
                )
            except Exception:  # the runtime is gone: this one was never acknowledged
                return None
            return n if answer["StatusCode"] == 202 else None

        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(send, n) for n in range(BURST)]
            time.sleep(0.3)
            stack.kill()
            acknowledged = {f.result() for f in futures} - {None}

        assert acknowledged, "part of the burst should be acknowledged before the kill"
        started_before_kill = Path(sleeper["log_file"]).read_text().count("START RequestId")
        assert started_before_kill < len(acknowledged), "some events must still be queued"
        # Down for longer than the sleeper's scaled event age (900 s at 0.01): the downtime
        # must not age the queued events (AWS's queue does not go down).
        time.sleep(900 * TIME_SCALE + 0.5)
        stack.start()
        records = receive_records(
            stack, sleeper["success_queue_url"], len(acknowledged), timeout=60
        )
        processed = {r["requestPayload"]["n"] for r in records}
        assert acknowledged <= processed
        assert processed <= set(range(BURST))
        assert {r["requestContext"]["condition"] for r in records} == {"Success"}
        assert receive_records(stack, sleeper["failure_queue_url"], 1, timeout=2) == []
    finally:
        if stack.process and stack.process.poll() is None:
            stack.stop()
        stack.down()


def test_a_second_up_on_the_same_state_folder_is_refused_and_the_first_keeps_serving(tmp_path):
    first = RunningStack(tmp_path, free_port_base())
    first.start()
    try:
        pid_file, endpoints_file = first.state_dir / "moto.pid", first.state_dir / "endpoints.json"
        before = pid_file.read_text(), endpoints_file.read_text()
        second = RunningStack(tmp_path, free_port_base())  # same folder, other ports
        refused = subprocess.run(
            second.command(),
            env={**os.environ, **second.environment()},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2, refused.stdout + refused.stderr
        message = " ".join(refused.stderr.split())
        assert f"is in use by ackflow up (pid {first.endpoints['pid']};" in message
        assert f"rest {first.port_base}," in message
        assert (pid_file.read_text(), endpoints_file.read_text()) == before
        for port in range(second.port_base, second.port_base + 4):
            assert port_is_free(port), f"the refused instance listens on {port}"

        down = subprocess.run(
            [*ackflow_command(), "down", "--stack", "e2e", *first._args()],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert down.returncode == 2
        assert f"in use by ackflow up (pid {first.endpoints['pid']};" in " ".join(
            down.stderr.split()
        )
        answer = first.client("lambda").invoke(
            FunctionName=first.workload("sleeper")["function_name"],
            Payload=json.dumps({"n": 1, "sleep": 0}).encode(),
        )
        assert answer["StatusCode"] == 200, "the first instance's Lambda service is gone"
        queue_url = first.workload("sleeper")["success_queue_url"]
        attributes = first.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )
        assert attributes["Attributes"]["QueueArn"], "the first instance's AWS services are gone"
    finally:
        first.stop()
        first.down()


def test_the_files_holding_secrets_are_readable_by_their_owner_only(tmp_path):
    stack = RunningStack(tmp_path, free_port_base())
    stack.start()
    try:
        endpoints = stack.state_dir / "endpoints.json"
        assert "slack_signing_secret" in json.loads(endpoints.read_text())
        for private in (endpoints, stack.state_dir / "secrets.json"):
            assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    finally:
        stack.stop()
        stack.down()


def test_reservations_leaving_under_100_unreserved_are_refused_as_aws_refuses_them(tmp_path):
    # The e2e stack reserves 2 for `sleeper`: of an account of 101, 99 would be left unreserved.
    base = free_port_base()
    result = subprocess.run(
        [
            *ackflow_command(),
            "up",
            "--stack-file",
            str(STACK_FILE),
            "--state-dir",
            str(tmp_path),
            "--port-base",
            str(base),
            "--account-concurrency",
            "101",
        ],
        env={**os.environ, **RunningStack(tmp_path, base).environment()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100]." in result.stderr
    )
    assert all(port_is_free(base + offset) for offset in range(4))  # nothing left running
