"""Seed 004's flows and AWS's async semantics, against a real `ackflow up`."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime

import requests

from tests.e2e.runner import TIME_SCALE, RunningStack, ackflow_command, receive_records

RECORD_KEYS = {
    "version",
    "timestamp",
    "requestContext",
    "requestPayload",
    "responseContext",
    "responsePayload",
}


def test_sync_square_answers_with_seed_004s_fields(running_stack: RunningStack):
    answer = requests.get(f"{running_stack.endpoints['rest_url']}/square/12", timeout=10)

    assert answer.status_code == 200
    body = answer.json()
    assert body["square_of_your_number_is"] == 144
    assert body["synchronous_invocation"] == "true"
    assert body["api_resource_path"] == "/square/{number}"
    assert body["api_request_id"] == answer.headers["x-amzn-RequestId"]


def test_async_square_is_acknowledged_at_once_and_its_record_reaches_the_success_queue(
    running_stack: RunningStack,
):
    squaring = running_stack.workload("squaring")
    started = time.monotonic()
    answer = requests.get(
        f"{running_stack.endpoints['rest_url']}/square/21",
        headers={"InvocationType": "Event"},
        timeout=10,
    )
    acknowledged_in = time.monotonic() - started

    assert answer.status_code == 202
    assert answer.json()["status"] == "ACCEPTED"
    assert answer.json()["message"] == "Event received. Check queue/logs for status"
    assert acknowledged_in < 1.0

    (record,) = receive_records(running_stack, squaring["success_queue_url"], 1)
    assert set(record) == RECORD_KEYS
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    context = record["requestContext"]
    assert set(context) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
    assert context["functionArn"].endswith(f":function:{squaring['function_name']}:$LATEST")
    assert context["condition"] == "Success"
    assert context["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"number": "21"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"number": 21, "square": 441}


def test_bad_input_is_retried_on_aws_schedule_then_lands_in_the_failure_queue(
    running_stack: RunningStack,
):
    squaring = running_stack.workload("squaring")
    answer = requests.get(
        f"{running_stack.endpoints['rest_url']}/square/abc",
        headers={"InvocationType": "Event"},
        timeout=10,
    )
    assert answer.status_code == 202

    (record,) = receive_records(running_stack, squaring["failure_queue_url"], 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # retries 2, plus the first
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "NumberValidationError"

    starts = _attempt_starts(squaring["log_file"], record["requestContext"]["requestId"])
    assert len(starts) == 3
    assert starts[1] - starts[0] >= 60 * TIME_SCALE
    assert starts[2] - starts[1] >= 120 * TIME_SCALE


def test_an_event_older_than_its_maximum_age_ends_as_event_age_exceeded(
    running_stack: RunningStack,
):
    flaky = running_stack.workload("flaky")
    running_stack.client("lambda").invoke(
        FunctionName=flaky["function_name"],
        InvocationType="Event",
        Payload=json.dumps({"message": "always"}).encode(),
    )

    (record,) = receive_records(running_stack, flaky["failure_queue_url"], 1)
    # The first retry falls due a (scaled) minute later: exactly the maximum event age.
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorMessage"] == "always"


def test_a_function_past_its_timeout_is_stopped_with_aws_timeout_error(
    running_stack: RunningStack,
):
    sleeper = running_stack.workload("sleeper")
    started = time.monotonic()
    answer = running_stack.client("lambda").invoke(
        FunctionName=sleeper["function_name"], Payload=json.dumps({"sleep": 5}).encode()
    )
    elapsed = time.monotonic() - started

    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert 1.0 <= elapsed < 4.0


def test_a_handler_invokes_another_function_asynchronously_with_plain_boto3(
    running_stack: RunningStack,
):
    squaring = running_stack.workload("squaring")
    answer = running_stack.client("lambda").invoke(
        FunctionName=running_stack.workload("sleeper")["function_name"],
        Payload=json.dumps(
            {"invoke": squaring["function_name"], "payload": {"number": "-9"}}
        ).encode(),
    )
    assert "FunctionError" not in answer

    (record,) = receive_records(running_stack, squaring["success_queue_url"], 1)
    assert record["requestPayload"] == {"number": "-9"}
    assert record["responsePayload"] == {"number": -9, "square": 81}


def test_the_invoke_api_answers_as_aws_does(running_stack: RunningStack):
    lam = running_stack.client("lambda")
    name = running_stack.workload("squaring")["function_name"]

    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    event = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"number": 2}')
    assert event["StatusCode"] == 202
    assert event["Payload"].read() == b""
    too_big = b'{"number": "' + b"1" * (1024 * 1024) + b'"}'
    answer = requests.post(
        f"{running_stack.endpoints['lambda_endpoint_url']}/2015-03-31/functions/{name}/invocations",
        data=too_big,
        headers={"X-Amz-Invocation-Type": "Event"},
        timeout=10,
    )
    assert answer.status_code == 413
    assert answer.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"
    receive_records(running_stack, running_stack.workload("squaring")["success_queue_url"], 1)


def _attempt_starts(log_file: str, request_id: str) -> list[float]:
    starts = []
    with open(log_file) as log:
        for line in log:
            if f"START RequestId: {request_id}" in line:
                stamp = line.split(" ", 1)[0]
                starts.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    return starts


def test_ackflow_logs_prints_a_functions_invocations_with_their_request_ids(
    running_stack: RunningStack,
):
    name = running_stack.workload("squaring")["function_name"]
    answer = running_stack.client("lambda").invoke(FunctionName=name, Payload=b'{"number": 3}')
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    def ackflow_logs(function: str) -> subprocess.CompletedProcess[str]:
        state = ["--stack", "e2e", "--state-dir", str(running_stack.state_root)]
        return subprocess.run(
            [*ackflow_command(), "logs", function, *state],
            capture_output=True,
            text=True,
            timeout=30,
        )

    logs = ackflow_logs(name)
    assert logs.returncode == 0
    assert f"START RequestId: {request_id}" in logs.stdout
    assert f"REPORT RequestId: {request_id}" in logs.stdout
    unknown = ackflow_logs("nope")
    assert unknown.returncode == 2
    assert "no function 'nope'" in unknown.stderr


def test_ackflow_events_counts_the_queue_per_function_as_json(running_stack: RunningStack):
    flaky = running_stack.workload("flaky")["function_name"]
    lam = running_stack.client("lambda")
    for _ in range(3):
        lam.invoke(FunctionName=flaky, InvocationType="Event", Payload=b'{"message": "no"}')
    receive_records(running_stack, running_stack.workload("flaky")["failure_queue_url"], 3)

    state = ["--stack", "e2e", "--state-dir", str(running_stack.state_root)]
    deadline = time.monotonic() + 10
    while True:  # the records are in the queue; the outbox marks them sent right after
        events = subprocess.run(
            [*ackflow_command(), "events", "--json", *state],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert events.returncode == 0, events.stderr
        counts = json.loads(events.stdout)["functions"]
        if counts[flaky]["deliveries_pending"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(counts) == set(running_stack.endpoints["functions"])
    assert counts[flaky]["done"]["EventAgeExceeded"] >= 3
    assert (counts[flaky]["queued"], counts[flaky]["running"]) == (0, 0)
    assert counts[flaky]["deliveries_pending"] == 0
