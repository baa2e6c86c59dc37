"""The async engine: AWS's retry, throttle and age rules, records read back from moto, durability.

The executor is the one fake (running Lambda code is the Lambda service's job); SQLite, moto
and the destination sender are real. Delays are AWS's multiplied by a small time scale.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from local.async_invoke.destinations import DestinationSender
from local.async_invoke.engine import MAX_ASYNC_PAYLOAD_BYTES, AsyncEngine, PayloadTooLarge
from local.async_invoke.records import invocation_record
from tests.local.async_invoke.helpers import (
    ACCOUNT,
    REGION,
    REPO,
    RETRY_SCALE,
    TIMESTAMP,
    ConcurrencyLimitedExecutor,
    Queue,
    ScriptedExecutor,
    accept,
    echo,
    error,
    function,
    ok,
    one_record,
    receive,
    run_until,
    throttle,
)

# -- success ---------------------------------------------------------------------------------


def test_success_record_reaches_sqs_in_awss_exact_shape(make_engine, new_queue, sqs):
    queue = new_queue()
    worker = function(on_success=queue.arn)
    engine = make_engine(worker, executor=ScriptedExecutor(ok({"square": 49})))

    request_id = accept(engine, "worker", b'{"n": 7}')
    run_until(engine)

    record = one_record(sqs, queue)
    assert list(record) == [
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    ]
    assert record["version"] == "1.0"
    assert TIMESTAMP.fullmatch(record["timestamp"]), record["timestamp"]
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{worker.arn}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"square": 49}
    status = engine.status(request_id)
    assert (status.state, status.condition, status.attempts, status.undelivered) == (
        "done",
        "Success",
        1,
        0,
    )


def test_success_after_a_retry_counts_both_invocations(make_engine, new_queue, sqs):
    queue = new_queue()
    engine = make_engine(
        function(on_success=queue.arn),
        executor=ScriptedExecutor(error("flaky"), ok(None)),
    )
    accept(engine, "worker", b"not json")
    run_until(engine)

    record = one_record(sqs, queue)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == "not json"  # a non-JSON event is kept as its text
    assert record["responsePayload"] is None


# -- function errors -----------------------------------------------------------------------------


def test_function_errors_retry_after_60_then_120_scaled_seconds_then_retries_exhausted(
    make_engine, new_queue, sqs
):
    queue = new_queue()
    executor = ScriptedExecutor(error("first"), error("second"), error("third"))
    engine = make_engine(
        function(retries=2, on_failure=queue.arn), executor=executor, scale=RETRY_SCALE
    )

    request_id = accept(engine, "worker", b'{"n": 7}')
    run_until(engine)

    assert len(executor.calls) == 3
    assert {c.request_id for c in executor.calls} == {request_id}  # the same event each time
    first_gap, second_gap = executor.gaps()
    # Lower bounds are AWS's schedule; upper bounds leave room for a slow machine's hiccups.
    assert 60 * RETRY_SCALE <= first_gap < 120 * RETRY_SCALE
    assert 120 * RETRY_SCALE <= second_gap < 240 * RETRY_SCALE
    record = one_record(sqs, queue)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"] == {
        "errorMessage": "third",
        "errorType": "ValueError",
        "stackTrace": [],
    }


def test_zero_retries_fails_after_the_first_error(make_engine, new_queue, sqs):
    queue = new_queue()
    executor = ScriptedExecutor(error("once"))
    engine = make_engine(function(retries=0, on_failure=queue.arn), executor=executor)
    accept(engine, "worker", b"{}")
    run_until(engine)

    assert len(executor.calls) == 1
    record = one_record(sqs, queue)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1


# -- throttles and event age ---------------------------------------------------------------------


def test_throttle_backoff_starts_at_one_scaled_second_and_doubles(make_engine):
    scale = 0.005
    executor = ScriptedExecutor(*[throttle] * 5, ok("done"))
    engine = make_engine(function(), executor=executor, scale=scale)
    request_id = accept(engine, "worker", b"{}")
    run_until(engine)

    gaps = executor.gaps()
    schedule = [1, 2, 4, 8, 16]  # AWS seconds
    assert len(gaps) == len(schedule)
    for gap, aws_seconds in zip(gaps, schedule, strict=True):
        assert gap >= aws_seconds * scale, gaps
    assert sum(gaps) < 2 * sum(schedule) * scale + 0.1, gaps  # not a slower schedule
    assert engine.status(request_id).attempts == 1  # throttles are not invocations


def test_always_throttled_event_fails_with_event_age_exceeded(make_engine, new_queue, sqs):
    queue, dlq = new_queue(), new_queue()
    executor = ScriptedExecutor(throttle)
    worker = function(max_event_age_seconds=60, on_failure=queue.arn, dead_letter=dlq.arn)
    engine = make_engine(worker, executor=executor, scale=0.005)  # 60 s of age → 0.3 s

    request_id = accept(engine, "worker", b'{"n": 7}')
    took = run_until(engine)

    assert 0.3 <= took < 1.5
    assert 3 <= len(executor.calls) <= 8  # backoff 1, 2, 4, 8, 16, 32 s within 60 s
    record = one_record(sqs, queue)
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{worker.arn}:$LATEST",
        "condition": "EventAgeExceeded",
        "approximateInvokeCount": 0,
    }
    # No invocation ran: the record carries the throttle (a documented design assumption).
    assert record["responseContext"] == {"statusCode": 429, "executedVersion": "$LATEST"}
    assert record["responsePayload"]["errorType"] == "TooManyRequestsException"
    (dead,) = receive(sqs, dlq)
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"


def test_event_age_exceeded_after_an_error_carries_the_last_error(make_engine, new_queue, sqs):
    queue = new_queue()
    executor = ScriptedExecutor(error("bad input"), throttle)
    # The retry is due 60 s after the error, but the event is only allowed 90 s in total.
    worker = function(max_event_age_seconds=90, retries=2, on_failure=queue.arn)
    engine = make_engine(worker, executor=executor, scale=0.003)
    accept(engine, "worker", b"{}")
    run_until(engine)

    record = one_record(sqs, queue)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "bad input"


def test_reserved_concurrency_zero_fails_at_once_without_running(make_engine, new_queue, sqs):
    queue, dlq = new_queue(), new_queue()
    executor = ScriptedExecutor()
    worker = function(reserved_concurrency=0, on_failure=queue.arn, dead_letter=dlq.arn)
    engine = make_engine(worker, executor=executor)
    request_id = accept(engine, "worker", b'{"n": 7}')
    run_until(engine)

    assert executor.calls == []
    record = one_record(sqs, queue)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    (dead,) = receive(sqs, dlq)
    assert dead["Body"] == '{"n": 7}'
    assert dead["MessageAttributes"]["RequestID"]["StringValue"] == request_id


# -- dead-letter queue ---------------------------------------------------------------------------


def test_dlq_gets_the_original_event_with_request_id_error_code_and_message(
    make_engine, new_queue, sqs
):
    dlq = new_queue()
    long_error = "x" * 3000
    engine = make_engine(
        function(retries=0, dead_letter=dlq.arn), executor=ScriptedExecutor(error(long_error))
    )
    request_id = accept(engine, "worker", b'{"order": 12}')
    run_until(engine)

    (dead,) = receive(sqs, dlq)
    assert dead["Body"] == '{"order": 12}'
    assert dead["MessageAttributes"] == {
        "RequestID": {"StringValue": request_id, "DataType": "String"},
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": "x" * 1024, "DataType": "String"},
    }


def test_failure_goes_to_both_the_failure_destination_and_the_dlq(make_engine, new_queue, sqs):
    queue, dlq = new_queue(), new_queue()
    engine = make_engine(
        function(retries=0, on_failure=queue.arn, dead_letter=dlq.arn, on_success=None),
        executor=ScriptedExecutor(error("boom")),
    )
    accept(engine, "worker", b"{}")
    run_until(engine)

    assert one_record(sqs, queue)["requestContext"]["condition"] == "RetriesExhausted"
    assert len(receive(sqs, dlq)) == 1


def test_success_sends_nothing_to_the_dlq_or_failure_destination(make_engine, new_queue, sqs):
    queue, dlq = new_queue(), new_queue()
    engine = make_engine(function(on_failure=queue.arn, dead_letter=dlq.arn))
    accept(engine, "worker", b"{}")
    run_until(engine)

    assert receive(sqs, queue) == [] and receive(sqs, dlq) == []


# -- Lambda destination and unreachable destinations ---------------------------------------------


def test_lambda_destination_is_invoked_asynchronously_through_the_engine(make_engine):
    executor = ScriptedExecutor(ok({"square": 49}), ok("audited"))
    worker = function("worker", on_success=function("audit").arn)
    engine = make_engine(worker, function("audit"), executor=executor)

    request_id = accept(engine, "worker", b'{"n": 7}')
    run_until(engine)

    assert [c.function_name for c in executor.calls] == ["worker", "audit"]
    audit_call = executor.calls[1]
    assert audit_call.request_id != request_id  # a new asynchronous event of its own
    assert engine.status(audit_call.request_id).state == "done"
    record = json.loads(audit_call.payload)
    assert record["requestContext"]["requestId"] == request_id
    assert record["responsePayload"] == {"square": 49}


def test_unreachable_destination_is_retried_then_delivered_once(make_engine, sqs):
    name = f"late-{uuid.uuid4().hex[:12]}"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    engine = make_engine(function(on_success=arn), scale=0.001)
    request_id = accept(engine, "worker", b"{}")

    async def scenario() -> None:
        runner = asyncio.create_task(engine.run())
        deadline = time.monotonic() + 5
        while engine.status(request_id).last_delivery_error is None:
            assert time.monotonic() < deadline, "the send was never tried"
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # a few more failed tries
        status = engine.status(request_id)
        assert (status.state, status.undelivered) == ("done", 1)
        assert "QueueDoesNotExist" in status.last_delivery_error
        await asyncio.to_thread(sqs.create_queue, QueueName=name)
        while not engine.is_idle():
            assert time.monotonic() < deadline, "never delivered"
            await asyncio.sleep(0.005)
        engine.stop()
        await runner

    asyncio.run(scenario())

    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    assert len(receive(sqs, Queue(url, arn))) == 1


def test_undelivered_record_survives_a_restart(make_engine, sqs):
    name = f"late-{uuid.uuid4().hex[:12]}"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    first = make_engine(function(on_success=arn), scale=0.001)
    request_id = accept(first, "worker", b"{}")
    run_until(first, lambda: first.status(request_id).last_delivery_error is not None)
    assert first.undelivered_count() == 1

    sqs.create_queue(QueueName=name)
    executor = ScriptedExecutor()
    second = make_engine(function(on_success=arn), executor=executor, scale=0.001)
    run_until(second)

    assert executor.calls == []  # the event itself was done; only its record was owed
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    assert json.loads(receive(sqs, Queue(url, arn))[0]["Body"])["requestContext"]["requestId"] == (
        request_id
    )


# -- concurrency ---------------------------------------------------------------------------------


def test_events_run_concurrently_up_to_the_engines_bound(make_engine):
    executor = ScriptedExecutor(echo, delay=0.2)
    engine = make_engine(function(), executor=executor)
    for n in range(100):
        accept(engine, "worker", str(n).encode())
    run_until(engine)

    assert len(executor.calls) == 100
    assert executor.most_running == 64
    # The 36 left after the first wave run together too, not one after another: all of them
    # are running at the moment the last one starts.
    second_wave = executor.spans[64:]
    last_start = second_wave[-1][0]
    assert sum(start <= last_start < end for start, end in second_wave) == 36


def test_poller_limit_runs_at_most_reserved_concurrency_at_once_and_throttles_none(make_engine):
    executor = ConcurrencyLimitedExecutor(2, echo, delay=0.05)
    engine = make_engine(function(reserved_concurrency=2), executor=executor)
    ids = [accept(engine, "worker", str(n).encode()) for n in range(10)]
    run_until(engine)

    assert executor.throttled == 0
    assert executor.most_running == 2  # the limit is used, not just kept under
    assert sorted(c.request_id for c in executor.calls) == sorted(ids)  # each ran once
    assert {engine.status(i).condition for i in ids} == {"Success"}
    assert {engine.status(i).attempts for i in ids} == {1}


def test_waiting_engine_does_not_busy_loop(tmp_path, endpoint):
    clock_reads = []

    def clock() -> float:
        clock_reads.append(1)
        return time.time()

    engine = AsyncEngine(
        tmp_path / "q.db",
        {"worker": function(retries=1)},
        ScriptedExecutor(error("retry me in 60 s"), ok(1)),
        DestinationSender(endpoint_url=endpoint, region=REGION),
        time_scale=0.01,  # the retry waits 0.6 s
        clock=clock,
    )
    accept(engine, "worker", b"{}")
    run_until(engine, timeout=3)

    assert len(clock_reads) < 40, f"the clock was read {len(clock_reads)} times while waiting"


# -- durability ----------------------------------------------------------------------------------


def test_accepted_events_survive_an_engine_that_never_ran(make_engine):
    first = make_engine(function())
    ids = {accept(first, "worker", json.dumps({"n": n}).encode()) for n in range(20)}
    first.close()
    del first

    executor = ScriptedExecutor()
    second = make_engine(function(), executor=executor)
    assert second.pending_count() == 20
    run_until(second)

    assert sorted(c.request_id for c in executor.calls) == sorted(ids)


def test_stopping_mid_run_puts_running_events_back_for_the_next_engine(make_engine):
    hanging = ScriptedExecutor(echo, delay=60)
    first = make_engine(function(), executor=hanging)
    ids = {accept(first, "worker", b"{}") for _ in range(3)}
    run_until(first, lambda: len(hanging.calls) == 3)
    assert {first.status(i).state for i in ids} == {"queued"}

    executor = ScriptedExecutor()
    second = make_engine(function(), executor=executor)
    run_until(second)
    assert {c.request_id for c in executor.calls} == ids


CRASHING_RUNTIME = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from local.async_invoke.engine import AsyncEngine
    from local.async_invoke.destinations import DestinationSender
    from local.lambda_.invocation import InvocationResult
    from local.cloud.functions import LocalFunction

    db, marker, hang_in = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    async def hang(*args):
        marker.touch()
        await asyncio.sleep(3600)

    class Executor:
        async def execute(self, function_name, payload, request_id):
            if hang_in == "execute":
                await hang()
            return InvocationResult(request_id, b"{}")

    arn = "arn:aws:lambda:us-east-1:000000000000:function:"
    functions = {
        "worker": LocalFunction(
            name="worker", arn=arn + "worker", handler="h.h", code_dir=Path("."),
            on_success=arn + "audit",
        ),
        "audit": LocalFunction(name="audit", arn=arn + "audit", handler="h.h", code_dir=Path(".")),
    }
    sender = DestinationSender(invoke_async=hang)  # a Lambda destination that never answers
    asyncio.run(AsyncEngine(db, functions, Executor(), sender, time_scale=0.001).run())
    """
)


@pytest.mark.parametrize("hang_in", ["execute", "deliver"])
def test_work_in_flight_when_the_process_is_killed_is_done_after_restart(
    make_engine, tmp_path, hang_in
):
    audit = function("audit")
    worker = function("worker", on_success=audit.arn)
    accepting = make_engine(worker, audit)
    ids = [accept(accepting, "worker", json.dumps({"n": n}).encode()) for n in range(5)]
    marker = tmp_path / "in-flight"
    runtime = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUNTIME, str(tmp_path / "q.db"), str(marker), hang_in],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 15
        while not marker.exists():
            assert runtime.poll() is None, "the runtime exited by itself"
            assert time.monotonic() < deadline, "the runtime never got to work"
            time.sleep(0.01)
        time.sleep(0.05)  # let it take up the rest
    finally:
        runtime.send_signal(signal.SIGKILL)
        runtime.wait()
    worker_runs = 5 if hang_in == "execute" else 0  # delivered records: the worker ran already
    assert accepting.pending_count("worker") == worker_runs
    assert accepting.undelivered_count() == 5 - worker_runs

    executor = ScriptedExecutor()
    restarted = make_engine(worker, audit, executor=executor)
    run_until(restarted)

    ran = [c for c in executor.calls if c.function_name == "worker"]
    assert sorted(c.request_id for c in ran) == (sorted(ids) if worker_runs else [])
    audited = [json.loads(c.payload) for c in executor.calls if c.function_name == "audit"]
    assert sorted(r["requestContext"]["requestId"] for r in audited) == sorted(ids)


# -- the edge ------------------------------------------------------------------------------------


def test_payload_over_1_mb_is_refused_and_nothing_is_queued(make_engine):
    engine = make_engine(function())
    with pytest.raises(PayloadTooLarge, match="1048577 byte payload") as raised:
        accept(engine, "worker", b"x" * (MAX_ASYNC_PAYLOAD_BYTES + 1))
    assert isinstance(raised.value, ValueError)
    assert engine.pending_count() == 0
    accept(engine, "worker", b"x" * MAX_ASYNC_PAYLOAD_BYTES)  # exactly 1 MB is allowed
    assert engine.pending_count() == 1


def test_unknown_function_is_a_key_error_naming_it(make_engine):
    engine = make_engine(function())
    with pytest.raises(KeyError, match="Function not found: ghost"):
        accept(engine, "ghost", b"{}")
    assert engine.pending_count() == 0


def test_invocation_record_without_any_invocation_reports_the_refusal():
    record = invocation_record(
        request_id="r",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
        condition="EventAgeExceeded",
        invoke_count=0,
        request_payload=b"[1]",
        response_payload=None,
        function_error=None,
        refusal=500,
        at=0.0,
    )
    assert record["timestamp"] == "1970-01-01T00:00:00.000Z"
    assert record["requestPayload"] == [1]
    assert record["responseContext"] == {"statusCode": 500, "executedVersion": "$LATEST"}
    assert record["responsePayload"]["errorType"] == "ServiceException"


def test_a_stop_before_the_engine_runs_makes_run_return_and_a_later_run_works(make_engine):
    # `ackflow up` stops the engine it has just started when Ctrl-C came during start-up:
    # run() must then return instead of serving forever.
    executor = ScriptedExecutor()
    engine = make_engine(function(), executor=executor)
    request_id = accept(engine, "worker", b"{}")
    engine.stop()

    async def run_stopped_engine() -> None:
        await asyncio.wait_for(engine.run(), 5)

    asyncio.run(run_stopped_engine())
    run_until(engine)
    assert [c.request_id for c in executor.calls] == [request_id]
