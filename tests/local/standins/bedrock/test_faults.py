"""The fault directive syntax and its per-conversation counts."""

from __future__ import annotations

import pytest

from local.standins.bedrock.errors import (
    ModelStreamErrorException,
    ThrottlingException,
    ValidationException,
)
from local.standins.bedrock.faults import (
    DEFAULT_AFTER,
    Fault,
    FaultBook,
    parse_faults,
    strip_faults,
)


def test_each_directive_is_read_with_its_options() -> None:
    text = (
        "Hello\n[ackflow-fault: throttle times=2]\n"
        "[ackflow-fault: midstream error=throttlingException after=7 times=1] "
        "[ackflow-fault: validation]"
    )

    assert parse_faults(text) == [
        Fault("throttle", times=2),
        Fault("midstream", times=1, after=7, error=ThrottlingException),
        Fault("validation"),
    ]


def test_midstream_defaults_to_a_model_stream_error_after_some_text() -> None:
    [fault] = parse_faults("[ackflow-fault: midstream]")

    assert fault.error is ModelStreamErrorException
    assert fault.after == DEFAULT_AFTER
    assert fault.times is None
    assert fault.exception().stream_member() == "modelStreamErrorException"


def test_a_throttle_is_bedrocks_throttling_exception() -> None:
    [fault] = parse_faults("[ackflow-fault: throttle]")

    error = fault.exception()
    assert fault.before_stream
    assert isinstance(error, ThrottlingException)
    assert error.status == 429
    assert error.message == "Too many requests, please wait before trying again."


@pytest.mark.parametrize(
    ("directive", "reason"),
    [
        ("[ackflow-fault: explode]", "the fault is one of throttle, validation, midstream"),
        ("[ackflow-fault:]", "the fault is one of"),
        ("[ackflow-fault: throttle after=3]", "throttle takes times as name=value"),
        ("[ackflow-fault: throttle times]", "throttle takes times"),
        ("[ackflow-fault: throttle times=0]", "times is a whole number, at least 1"),
        ("[ackflow-fault: midstream after=-1]", "after is a whole number, at least 0"),
        ("[ackflow-fault: midstream error=accessDenied]", "error is one of"),
    ],
)
def test_a_malformed_directive_is_a_validation_error_saying_why(
    directive: str, reason: str
) -> None:
    with pytest.raises(ValidationException, match="Bad directive") as raised:
        parse_faults(f"Hi {directive}")

    assert reason in raised.value.message


def test_directives_are_cut_out_of_the_text() -> None:
    text = "Explain queues. [ackflow-fault: throttle]\n[ackflow-fault: validation times=1]"

    assert strip_faults(text) == "Explain queues."
    assert parse_faults("no directive [ackflow-fault throttle]") == []


def test_times_counts_per_conversation_and_directives_apply_in_turn() -> None:
    book = FaultBook()
    faults = [Fault("throttle", times=2), Fault("midstream", times=1)]

    drawn = [book.take("conversation-a", faults) for _ in range(4)]

    assert drawn == [faults[0], faults[0], faults[1], None]
    assert book.take("conversation-b", faults) == faults[0]


def test_without_times_a_fault_never_runs_out() -> None:
    book = FaultBook()
    faults = [Fault("validation")]

    assert all(book.take("c", faults) == faults[0] for _ in range(50))
