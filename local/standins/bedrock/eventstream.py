"""AWS event-stream framing (``application/vnd.amazon.eventstream``): the encoding half.

botocore decodes these frames (``botocore.eventstream``) but has no encoder. A frame is,
big-endian: total length (u32), headers length (u32), the CRC32 of those 8 bytes (u32), the
headers, the payload, then the CRC32 of everything before it (u32). A header is its name's
length (u8), the name, a value type (u8) and the value; only strings (type 7, u16 length)
are written, which is all Bedrock's streams carry.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_TYPE_HEADER",
    "EVENT_TYPE_HEADER",
    "EXCEPTION_TYPE_HEADER",
    "MESSAGE_TYPE_HEADER",
    "encode_frame",
    "event_frame",
    "exception_frame",
]

MESSAGE_TYPE_HEADER = ":message-type"
EVENT_TYPE_HEADER = ":event-type"
EXCEPTION_TYPE_HEADER = ":exception-type"
CONTENT_TYPE_HEADER = ":content-type"
_EVENT = "event"
_EXCEPTION = "exception"
_JSON = "application/json"

_STRING_TYPE = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_MAX_NAME_BYTES = 255
_MAX_VALUE_BYTES = 32767  # the decoder reads a u16, the format caps it at int16


def encode_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One frame with string headers, in order, and the payload as given."""
    encoded_headers = b"".join(_encode_header(name, value) for name, value in headers.items())
    total_length = _PRELUDE.size + _CRC.size + len(encoded_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total_length, len(encoded_headers))
    message = prelude + _CRC.pack(binascii.crc32(prelude)) + encoded_headers + payload
    return message + _CRC.pack(binascii.crc32(message))


def event_frame(event_type: str, body: Mapping[str, Any]) -> bytes:
    """An event of the stream's union member ``event_type`` with a JSON body."""
    return encode_frame(
        {
            EVENT_TYPE_HEADER: event_type,
            CONTENT_TYPE_HEADER: _JSON,
            MESSAGE_TYPE_HEADER: _EVENT,
        },
        _json(body),
    )


def exception_frame(exception_type: str, message: str) -> bytes:
    """A modelled exception in the stream (``exception_type`` is the camelCase member name)."""
    return encode_frame(
        {
            EXCEPTION_TYPE_HEADER: exception_type,
            CONTENT_TYPE_HEADER: _JSON,
            MESSAGE_TYPE_HEADER: _EXCEPTION,
        },
        _json({"message": message}),
    )


def _encode_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    if not 0 < len(raw_name) <= _MAX_NAME_BYTES:
        raise ValueError(f"header name must be 1-{_MAX_NAME_BYTES} bytes: {name!r}")
    if len(raw_value) > _MAX_VALUE_BYTES:
        raise ValueError(f"header {name!r}: value over {_MAX_VALUE_BYTES} bytes")
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING_TYPE, len(raw_value))
        + raw_value
    )


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
