"""The burst's bookkeeping: which event a record is for, and the timeline of the drain."""

from __future__ import annotations

from bench.burst import FIRST_NUMBER, _ack_latency, _drain_rates, _event_of, _timeline
from bench.queues import QueueReader, Received


def record(number: str, condition: str = "Success") -> dict:
    return {"requestContext": {"condition": condition}, "requestPayload": {"number": number}}


def test_a_record_names_its_burst_event_and_records_of_other_figures_name_none():
    assert _event_of(record(str(FIRST_NUMBER + 7))) == 7
    assert _event_of(record("12")) is None
    assert _event_of({"requestContext": {}}) is None


def test_the_timeline_counts_acks_and_records_per_second_in_half_second_buckets():
    started = 1000.0
    reader = QueueReader(lambda: None, {})
    reader.received += [
        Received("success", started + 0.2, record(str(FIRST_NUMBER))),
        Received("success", started + 0.7, record(str(FIRST_NUMBER + 1))),
        Received("failure", started + 0.8, record(str(FIRST_NUMBER + 2), "EventAgeExceeded")),
        Received("success", started + 0.9, record("12")),  # an earlier figure's
    ]
    acks = {0: (202, started + 0.1), 1: (202, started + 0.1), 2: (202, started + 0.3)}

    timeline = _timeline(acks, reader, started)

    assert timeline["bucket_seconds"] == [0.0, 0.5]
    assert timeline["accepted"] == [6.0, 0.0]
    assert timeline["success"] == [2.0, 2.0]
    assert timeline["failure"] == [0.0, 2.0]


def test_the_drain_is_counted_apart_beside_the_acks_and_after_them():
    started, submitted = 1000.0, 1002.0  # two seconds of acks
    arrivals = [1000.5, 1001.0, 1001.5, 1002.0, 1002.25, 1002.5, 1002.75, 1003.0]

    assert _drain_rates(arrivals, started, submitted) == (2.0, 4.0)
    assert _drain_rates(arrivals[:3], started, submitted) == (1.5, 0.0)  # done before the last ack
    assert _drain_rates([], started, submitted) == (0.0, 0.0)


def test_the_acks_p50_and_p99_are_read_from_their_latencies_in_ms():
    latencies = [0.010] * 98 + [0.500, 0.900]  # two held acks in a hundred

    # Nearest rank, as wrk reports it: the 99th of 100 is the first held one.
    assert _ack_latency(latencies) == {"ack_p50_ms": 10.0, "ack_p99_ms": 500.0}
    assert _ack_latency([]) == {"ack_p50_ms": 0.0, "ack_p99_ms": 0.0}
