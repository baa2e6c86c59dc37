"""Faults a real `ackflow up` must survive as AWS does. Each test says what AWS does; the
assertions are what ackflow does."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

from tests.e2e.runner import RunningStack, receive_records


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
