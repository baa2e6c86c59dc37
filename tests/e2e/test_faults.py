"""Faults a real `ackflow up` must survive as AWS does. Each test says what AWS does; the
assertions are what ackflow does."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.runner import RunningStack, ackflow_command, free_port_base, receive_records


def invoke(stack: RunningStack, workload: str, event: dict) -> tuple[dict, dict]:
    """A RequestResponse invocation: (the Invoke API's answer, its payload)."""
    answer = stack.client("lambda", attempts=1).invoke(
        FunctionName=stack.workload(workload)["function_name"], Payload=json.dumps(event)
    )
    return answer, json.loads(answer["Payload"].read())


def invoke_async(stack: RunningStack, workload: str, event: dict) -> None:
    answer = stack.client("lambda").invoke(
        FunctionName=stack.workload(workload)["function_name"],
        InvocationType="Event",
        Payload=json.dumps(event),
    )
    assert answer["StatusCode"] == 202


def failure_record(stack: RunningStack, workload: str, marker: str) -> dict:
    queue = stack.workload(workload)["failure_queue_url"]
    records = receive_records(stack, queue, 1, timeout=30)
    (record,) = [r for r in records if r["requestPayload"].get("marker") == marker]
    return record


def test_a_handler_that_exits_mid_invocation_is_an_exit_error_in_a_new_environment(
    running_stack: RunningStack,
):
    """AWS: the runtime process dies, the invocation fails with ``Runtime.ExitError`` ("Runtime
    exited with error: exit status N"), the next invocation gets a fresh environment, and an
    asynchronous event is retried on AWS's schedule (1 min, then 2 min) until its retries run
    out."""
    _, before = invoke(running_stack, "crashy", {})
    answer, crash = invoke(running_stack, "crashy", {"do": "exit"})
    _, after = invoke(running_stack, "crashy", {})
    marker = uuid.uuid4().hex
    invoke_async(running_stack, "crashy", {"do": "exit", "marker": marker})
    record = failure_record(running_stack, "crashy", marker)

    assert answer["FunctionError"] == "Unhandled"
    assert crash["errorType"] == "Runtime.ExitError"
    assert crash["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert after["pid"] != before["pid"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "Runtime.ExitError"


def test_a_handler_past_its_timeout_is_stopped_task_timed_out_and_retried(
    running_stack: RunningStack,
):
    """AWS: at the function's timeout the invocation is stopped with "Task timed out after N.NN
    seconds" (``Sandbox.Timedout``), the environment is not reused mid-run, and an asynchronous
    event is retried like any function error."""
    answer, timed_out = invoke(running_stack, "crashy", {"do": "hang"})
    _, after = invoke(running_stack, "crashy", {})
    marker = uuid.uuid4().hex
    invoke_async(running_stack, "crashy", {"do": "hang", "marker": marker})
    record = failure_record(running_stack, "crashy", marker)

    assert answer["FunctionError"] == "Unhandled"
    assert timed_out["errorType"] == "Sandbox.Timedout"
    assert timed_out["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "pid" in after  # a fresh environment answers
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert "Task timed out after 1.00 seconds" in record["responsePayload"]["errorMessage"]


def test_a_handler_whose_init_fails_answers_the_init_error_for_each_invocation(
    running_stack: RunningStack,
):
    """AWS: an exception while the handler's module is imported fails the init; AWS's runtime
    client (awslambdaric, which runs it here too) reports the exception itself (an ImportError
    would be ``Runtime.ImportModuleError``), for each invocation under its own request id;
    Lambda tries the init again on the next one, and an asynchronous event is retried."""
    first, first_error = invoke(running_stack, "brokenInit", {})
    second, second_error = invoke(running_stack, "brokenInit", {})
    marker = uuid.uuid4().hex
    invoke_async(running_stack, "brokenInit", {"marker": marker})
    record = failure_record(running_stack, "brokenInit", marker)

    for answer, error in ((first, first_error), (second, second_error)):
        assert answer["FunctionError"] == "Unhandled"
        assert error["errorType"] == "RuntimeError"
        assert error["errorMessage"] == "the configuration this module needs is missing"
    first_id = first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    second_id = second["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert first_id != second_id
    assert record["requestContext"]["approximateInvokeCount"] == 2  # retries: 1
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_records_wait_in_the_outbox_while_the_aws_services_are_down_then_arrive(
    running_stack: RunningStack,
):
    """AWS: its services do not go down. Locally moto can (killed, out of memory): `ackflow up`
    notices, starts it again with the stack's resources, and the destination records that were
    waiting in the outbox are delivered then."""
    moto = json.loads((running_stack.state_dir / "moto.pid").read_text())
    os.killpg(moto["pid"], signal.SIGKILL)
    markers = [uuid.uuid4().hex for _ in range(3)]
    for marker in markers:
        invoke_async(running_stack, "squaring", {"number": "7", "marker": marker})
    success = running_stack.workload("squaring")["success_queue_url"]
    _wait_until(lambda: _queue_exists(running_stack, success))  # moto back, resources made
    records = receive_records(running_stack, success, 3, timeout=60)

    assert sorted(r["requestPayload"]["marker"] for r in records) == sorted(markers)
    assert "stopped answering: starting them again" in running_stack.output()
    restarted = json.loads((running_stack.state_dir / "moto.pid").read_text())
    assert restarted["pid"] != moto["pid"]


def _queue_exists(stack: RunningStack, url: str) -> bool:
    try:
        stack.client("sqs", attempts=1).get_queue_attributes(QueueUrl=url)
    except Exception:  # refused while moto is down, NonExistentQueue until it is provisioned
        return False
    return True


def _wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "moto did not come back with the stack's queues"
        time.sleep(0.2)


def test_kill_9_during_delivery_delivers_every_record_after_the_restart(tmp_path):
    """AWS: a record the function produced reaches its destination at least once. Locally the
    records wait in the outbox (SQLite): with moto paused, `ackflow up` finishes the events but
    cannot deliver; killed then, the next `ackflow up` sends every pending record."""
    stack = RunningStack(tmp_path, free_port_base())
    stack.start()
    moto = json.loads((stack.state_dir / "moto.pid").read_text())["pid"]
    markers = [uuid.uuid4().hex for _ in range(20)]
    try:
        os.killpg(moto, signal.SIGSTOP)
        for marker in markers:
            invoke_async(stack, "squaring", {"number": "3", "marker": marker})
        _wait_until(lambda: _pending_deliveries(stack) >= len(markers))
        stack.kill()
        os.killpg(moto, signal.SIGCONT)
        stack.start()
        records = receive_records(
            stack, stack.workload("squaring")["success_queue_url"], len(markers), timeout=60
        )
        assert {r["requestPayload"]["marker"] for r in records} >= set(markers)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(moto, signal.SIGCONT)
        if stack.process and stack.process.poll() is None:
            stack.stop()
        stack.down()


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 64 MiB tmpfs for the state folder, so that it can be filled or made read-only."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"this test mounts a tmpfs (it needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _event_status(stack: RunningStack) -> tuple[int, str]:
    """An Event invocation's HTTP status and body, through the Invoke API."""
    request = urllib.request.Request(
        f"{stack.endpoints['lambda_endpoint_url']}/2015-03-31/functions/"
        f"{stack.workload('squaring')['function_name']}/invocations",
        data=b'{"number": "2"}',
        headers={"X-Amz-Invocation-Type": "Event"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("x-amzn-RequestId", "")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_a_full_disk_refuses_events_with_a_reason_and_acknowledges_none_it_lost(small_disk):
    """AWS: its queue does not fill up. Locally the disk under the state folder can: an event
    that cannot be stored is refused at the edge (503 with the reason), never acknowledged, and
    the runtime takes events again once there is room."""
    stack = RunningStack(small_disk, free_port_base())
    stack.start()
    filler = small_disk / "filler"
    try:
        status, stored_id = _event_status(stack)
        assert status == 202
        with contextlib.suppress(OSError), filler.open("wb") as stream:
            while True:
                stream.write(b"\0" * (1 << 20))
        refused = [_event_status(stack) for _ in range(3)]
        filler.unlink()
        _wait_until(lambda: _event_status(stack)[0] == 202, seconds=60)
    finally:
        filler.unlink(missing_ok=True)
        stack.stop()
        stack.down()

    assert [status for status, _ in refused] == [503, 503, 503]
    reasons = [json.loads(body)["Message"] for _, body in refused]
    assert all("the event store did not take the event" in reason for reason in reasons), reasons
    store = sqlite3.connect(f"file:{stack.state_dir / 'events.sqlite3'}?mode=ro", uri=True)
    with contextlib.closing(store):
        ids = {row[0] for row in store.execute("SELECT request_id FROM events")}
    assert stored_id in ids


def test_a_read_only_state_folder_is_refused_at_start_in_one_line(small_disk):
    """A state folder that cannot be written (here a read-only mount, which even root cannot
    write) stops `ackflow up` before it serves anything, saying which folder and why; a folder
    that turns read-only while it runs cannot be mimicked here (open files stay writable), and
    a full disk, above, is the same fault at the edge."""
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    stack = RunningStack(small_disk, free_port_base())
    refused = subprocess.run(
        stack.command(),
        env={**os.environ, **stack.environment()},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert refused.returncode == 2, refused.stdout + refused.stderr
    message = " ".join(refused.stderr.split())
    assert str(small_disk) in message
    assert "Read-only file system" in message or "read-only" in message.lower()
    assert "Traceback" not in refused.stderr


def _pending_deliveries(stack: RunningStack) -> int:
    answer = subprocess.run(
        [*ackflow_command(), "events", "--json", "--stack", stack.stack, *stack._args()[:2]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if answer.returncode != 0:
        return 0
    document = json.loads(answer.stdout)
    return sum(f.get("deliveries_pending", 0) for f in document.get("functions", {}).values())
