"""What a finished asynchronous invocation sends on: AWS's destination record and the DLQ's error.

Pure functions of an event's outcome; the async engine decides when to build them and the
:class:`~local.async_invoke.destinations.DestinationSender` sends them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EVENT_AGE_EXCEEDED",
    "FUNCTION_ERROR_STATUS",
    "LATEST",
    "RETRIES_EXHAUSTED",
    "SUCCESS",
    "SYSTEM_ERROR_STATUS",
    "THROTTLED_STATUS",
    "dead_letter_attributes",
    "invocation_record",
    "record_body",
]

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"

LATEST = "$LATEST"
THROTTLED_STATUS = 429
SYSTEM_ERROR_STATUS = 500
FUNCTION_ERROR_STATUS = 200
"""A function error is an invocation that answered 200; the DLQ's ``ErrorCode`` says so."""
# Design assumption (AWS does not document these): when no invocation ran, the record's
# responseContext carries the refusal's status (429 throttled, 500 system error), no
# functionError, and responsePayload is the error document Invoke would have answered.
_REFUSALS = {
    THROTTLED_STATUS: {"errorMessage": "Rate Exceeded.", "errorType": "TooManyRequestsException"},
    SYSTEM_ERROR_STATUS: {
        "errorMessage": "The Lambda service could not run the function.",
        "errorType": "ServiceException",
    },
}


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    response_payload: bytes | None,
    function_error: str | None,
    refusal: int | None = None,
    at: float,
) -> dict[str, Any]:
    """AWS's destination record. ``response_payload`` is None when no invocation ran."""
    if response_payload is None:
        status = refusal or THROTTLED_STATUS
        response_context: dict[str, Any] = {"statusCode": status, "executedVersion": LATEST}
        response: Any = _REFUSALS.get(status, _REFUSALS[THROTTLED_STATUS])
    else:
        response_context = {"statusCode": 200, "executedVersion": LATEST}
        if function_error:
            response_context["functionError"] = function_error
        response = _json_or_text(response_payload) if response_payload else None
    return {
        "version": "1.0",
        "timestamp": _iso_millis(at),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:{LATEST}",
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _json_or_text(request_payload),
        "responseContext": response_context,
        "responsePayload": response,
    }


def record_body(record: Mapping[str, Any]) -> bytes:
    """A record as the compact JSON that is sent."""
    return json.dumps(record, separators=(",", ":")).encode()


def dead_letter_attributes(
    *, request_id: str, invoke_count: int, last_payload: bytes | None, refusal: int | None
) -> dict[str, Any]:
    """A failed event's DLQ message attributes, as ``DestinationSender.send_dead_letter``'s
    keywords: its ``RequestID``, ``ErrorCode`` and ``ErrorMessage``."""
    if invoke_count == 0:
        code = refusal or THROTTLED_STATUS
        message = _REFUSALS.get(code, _REFUSALS[THROTTLED_STATUS])["errorMessage"]
    else:
        code = FUNCTION_ERROR_STATUS
        error = _json_or_text(last_payload or b"")
        if isinstance(error, dict) and isinstance(error.get("errorMessage"), str):
            message = error["errorMessage"]
        else:
            message = (last_payload or b"").decode("utf-8", errors="replace")
    return {"request_id": request_id, "error_code": code, "error_message": message}


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def _iso_millis(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
