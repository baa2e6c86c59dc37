"""The stand-in's HTTP face: Converse and ConverseStream as bedrock-runtime serves them."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import string
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from local.request_ids import new_request_id
from local.standins.bedrock.errors import (
    BedrockError,
    IncompleteSignature,
    MissingAuthorization,
    UnknownOperationException,
)
from local.standins.bedrock.eventstream import event_frame, exception_frame
from local.standins.bedrock.faults import Fault, FaultBook, parse_faults, strip_faults
from local.standins.bedrock.reply import Reply, count_tokens, write_reply
from local.standins.bedrock.request import USER, ConverseRequest, parse_converse

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["BedrockStandIn", "Pacing", "create_bedrock_app"]

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
REQUEST_ID_HEADER = "x-amzn-RequestId"
_SIGNED_SCHEMES = ("AWS4-HMAC-SHA256 ", "Bearer ")  # SigV4, or a Bedrock API key
_PADDING = string.ascii_letters + string.digits


class Pacing(BaseModel):
    """How fast the stand-in's model writes. The defaults are near Claude 3 Haiku on Bedrock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_token_seconds: float = Field(default=0.3, ge=0)
    """From the request to the first token."""
    tokens_per_second: float = Field(default=100.0, gt=0)
    """After the first token; ``math.inf`` sends the rest at once."""

    @classmethod
    def instant(cls) -> Pacing:
        """No waiting at all: for tests."""
        return cls(first_token_seconds=0, tokens_per_second=math.inf)

    def due(self, token_index: int) -> float:
        """Seconds after the request at which token ``token_index`` (from 0) is written."""
        return self.first_token_seconds + token_index / self.tokens_per_second


class BedrockStandIn:
    """The two operations' handlers, with the pacing and the fault counts they share."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self.faults = FaultBook()
        self._padding = random.Random()

    async def converse(self, request: web.Request) -> web.StreamResponse:
        started = asyncio.get_running_loop().time()
        try:
            converse, fault = await self._accept(request)
            if fault is not None:  # Converse has no stream: the fault is its HTTP error
                raise fault.exception()
        except BedrockError as error:
            return _error_response(error)
        reply = _reply(converse)
        await self._sleep_until(started, max(len(reply.tokens) - 1, 0))  # the last token
        return web.json_response(
            {
                "output": {"message": {"role": "assistant", "content": [{"text": reply.text}]}},
                "stopReason": reply.stop_reason,
                "usage": _usage(converse, reply),
                "metrics": {"latencyMs": self._elapsed_ms(started)},
            },
            headers={REQUEST_ID_HEADER: new_request_id()},
        )

    async def converse_stream(self, request: web.Request) -> web.StreamResponse:
        started = asyncio.get_running_loop().time()
        try:
            converse, fault = await self._accept(request)
        except BedrockError as error:
            return _error_response(error)
        reply = _reply(converse)
        response = web.StreamResponse(
            headers={"Content-Type": EVENTSTREAM_CONTENT_TYPE, REQUEST_ID_HEADER: new_request_id()}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the client left: nobody to tell
            await self._stream(response, started, converse, reply, fault)
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        started: float,
        converse: ConverseRequest,
        reply: Reply,
        fault: Fault | None,
    ) -> None:
        await response.write(self._event("messageStart", {"role": "assistant"}))
        for index, token in enumerate(reply.tokens):
            if fault is not None and index == fault.after:
                break
            await self._sleep_until(started, index)
            delta = {"contentBlockIndex": 0, "delta": {"text": token}}
            await response.write(self._event("contentBlockDelta", delta))
        if fault is not None:  # after its K deltas, or the last one if the reply is shorter
            error = fault.exception()
            await response.write(exception_frame(error.stream_member(), error.message))
        else:
            await response.write(self._event("contentBlockStop", {"contentBlockIndex": 0}))
            await response.write(self._event("messageStop", {"stopReason": reply.stop_reason}))
            metadata = {
                "usage": _usage(converse, reply),
                "metrics": {"latencyMs": self._elapsed_ms(started)},
            }
            await response.write(self._event("metadata", metadata))
        await response.write_eof()

    async def _accept(self, request: web.Request) -> tuple[ConverseRequest, Fault | None]:
        """The checks Bedrock makes before answering, in its order, and the fault drawn."""
        _check_signed(request.headers)
        converse = parse_converse(request.match_info["modelId"], await request.read())
        fault = self.faults.take(converse.conversation_key, parse_faults(converse.prompt))
        if fault is not None and fault.before_stream:
            raise fault.exception()
        return converse, fault

    def _event(self, event_type: str, body: Mapping[str, Any]) -> bytes:
        # Bedrock pads each event with "p", a run of letters and digits of varying length
        # (against guessing token lengths from frame sizes, presumably: unconfirmed); botocore
        # ignores the member.
        padding = _PADDING[: self._padding.randint(1, len(_PADDING))]
        return event_frame(event_type, {**body, "p": padding})

    async def _sleep_until(self, started: float, token_index: int) -> None:
        delay = started + self.pacing.due(token_index) - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    @staticmethod
    def _elapsed_ms(started: float) -> int:
        return round((asyncio.get_running_loop().time() - started) * 1000)


def create_bedrock_app(pacing: Pacing | None = None) -> web.Application:
    """A bedrock-runtime endpoint serving Converse and ConverseStream; see the package doc."""
    stand_in = BedrockStandIn(pacing or Pacing())
    app = web.Application()
    app.add_routes(
        [
            web.post("/model/{modelId}/converse-stream", stand_in.converse_stream),
            web.post("/model/{modelId}/converse", stand_in.converse),
            web.route("*", "/{path:.*}", _not_served),
        ]
    )
    return app


def _check_signed(headers: Mapping[str, str]) -> None:
    """Any SigV4 signature or bearer key is accepted: the signature itself is not checked."""
    authorization = headers.get("Authorization")
    if not authorization:
        raise MissingAuthorization()
    if not authorization.startswith(_SIGNED_SCHEMES):
        raise IncompleteSignature()


def _reply(converse: ConverseRequest) -> Reply:
    return write_reply(
        system=converse.system,
        conversation=[
            strip_faults(text) if role == USER else text for role, text in converse.messages
        ],
        prompt=strip_faults(converse.prompt),
        max_tokens=converse.max_tokens,
        stop_sequences=converse.stop_sequences,
    )


def _usage(converse: ConverseRequest, reply: Reply) -> dict[str, int]:
    """Input counts the text as sent, directives included; a real model would have read them."""
    input_tokens = count_tokens([*converse.system, *(text for _, text in converse.messages)])
    output_tokens = len(reply.tokens)
    return {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    }


def _error_response(error: BedrockError) -> web.Response:
    return web.json_response(
        error.body(),
        status=error.status,
        headers={ERROR_TYPE_HEADER: error.error_type, REQUEST_ID_HEADER: new_request_id()},
    )


async def _not_served(request: web.Request) -> web.Response:
    return _error_response(
        UnknownOperationException(
            f"{request.method} {request.path} is not emulated by the ackflow Bedrock stand-in "
            "(Converse and ConverseStream are)."
        )
    )
