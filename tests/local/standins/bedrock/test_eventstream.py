"""The frame encoder writes what botocore's own event-stream decoder accepts, CRCs included."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer, EventStreamMessage
from hypothesis import given
from hypothesis import strategies as st

from local.standins.bedrock.eventstream import encode_frame, event_frame, exception_frame

header_names = st.text(min_size=1, max_size=60).filter(lambda name: len(name.encode()) <= 255)
headers = st.dictionaries(header_names, st.text(max_size=200), max_size=6)
payloads = st.binary(max_size=2000)


def decode(data: bytes) -> list[EventStreamMessage]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


@given(headers, payloads)
def test_any_frame_round_trips_through_botocores_decoder(
    frame_headers: dict[str, str], payload: bytes
) -> None:
    frame = encode_frame(frame_headers, payload)

    [message] = decode(frame)
    assert message.headers == frame_headers
    assert message.payload == payload
    assert message.prelude.total_length == len(frame)


@given(st.lists(st.tuples(headers, payloads), min_size=1, max_size=5), st.data())
def test_frames_split_anywhere_decode_in_order(
    frames: list[tuple[dict[str, str], bytes]], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(h, p) for h, p in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    buffer = EventStreamBuffer()
    decoded: list[EventStreamMessage] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buffer.add_data(stream[start:end])  # as HTTP chunks arrive
        decoded.extend(buffer)

    assert [(m.headers, m.payload) for m in decoded] == frames


@given(headers, payloads, st.data())
def test_botocore_rejects_a_frame_with_any_byte_corrupted(
    frame_headers: dict[str, str], payload: bytes, data: st.DataObject
) -> None:
    frame = bytearray(encode_frame(frame_headers, payload))
    position = data.draw(st.integers(0, len(frame) - 1))
    frame[position] ^= data.draw(st.integers(1, 255))

    with pytest.raises(ChecksumMismatch):
        decode(bytes(frame))


def test_an_event_frame_carries_bedrocks_three_headers_and_json() -> None:
    [message] = decode(event_frame("messageStop", {"stopReason": "end_turn"}))

    assert message.headers == {
        ":event-type": "messageStop",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(message.payload) == {"stopReason": "end_turn"}


def test_an_exception_frame_names_the_exception_and_carries_its_message() -> None:
    [message] = decode(exception_frame("modelStreamErrorException", "boom"))

    assert message.headers == {
        ":exception-type": "modelStreamErrorException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert json.loads(message.payload) == {"message": "boom"}


def test_utf8_text_is_sent_as_utf8() -> None:
    [message] = decode(event_frame("contentBlockDelta", {"delta": {"text": " café ☕"}}))

    assert message.payload == '{"delta":{"text":" café ☕"}}'.encode()


@pytest.mark.parametrize(
    "frame_headers", [{"": "empty name"}, {"n" * 256: "long name"}, {"long": "v" * 32768}]
)
def test_a_header_out_of_the_formats_bounds_is_refused(frame_headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="header"):
        encode_frame(frame_headers, b"")
