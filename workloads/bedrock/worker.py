"""Streams a Bedrock model's answer to a prompt, as chunks published to ``onChunk(streamId)``.

Invoked asynchronously by AppSync (``startStream``) with ``{prompt, streamId, system?,
maxTokens?, requestId}``. The request is checked again here (the resolver checked it first):
a bad one fails at once with ``StreamRequestError``, so its failure record says why.

Once per ``requestId`` (Powertools idempotency on DynamoDB): a duplicate delivery of an event
whose stream completed does not stream again. A failed stream ends with an error chunk and
fails the invocation; Lambda's retry then streams a new ``attempt`` (counted in the same
table), whose chunks the client tells apart by that field, ``seq`` starting at 0 again.

Environment: ``IDEMPOTENCY_TABLE``, ``GRAPHQL_URL_PARAMETER`` (the SSM parameter holding the
GraphQL URL, read with Powertools Parameters), ``BEDROCK_MODEL_ID`` (empty: Claude Haiku's
inference profile for the region), ``BEDROCK_MAX_TOKENS``, ``BEDROCK_TEMPERATURE``,
``BEDROCK_SYSTEM``, ``FLUSH_MS``, ``FLUSH_BYTES``, ``MAX_PROMPT_CHARS``, ``MAX_SYSTEM_CHARS``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.config import Config
from chunk_publisher import ChunkPublisher
from model_ids import default_model_id
from stream_request import StreamRequest, parse_request
from streaming import StreamFailed, StreamSettings, run_stream

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["handler", "settings"]

IDEMPOTENCY_SECONDS = 6 * 3600
ATTEMPT_KEY_PREFIX = "bedrock-worker.attempts#"
GRAPHQL_URL_PARAMETER_ENV = "GRAPHQL_URL_PARAMETER"
BEDROCK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=120)

logger = Logger(service="bedrock-worker")


def settings() -> StreamSettings:
    """The stack's settings, from the environment the program gave the function."""
    return StreamSettings(
        model_id=os.environ.get("BEDROCK_MODEL_ID") or default_model_id(os.environ["AWS_REGION"]),
        max_tokens=int(os.environ["BEDROCK_MAX_TOKENS"]),
        temperature=float(os.environ["BEDROCK_TEMPERATURE"]),
        system=os.environ.get("BEDROCK_SYSTEM") or None,
        flush_ms=int(os.environ["FLUSH_MS"]),
        flush_bytes=int(os.environ["FLUSH_BYTES"]),
        max_prompt_chars=int(os.environ["MAX_PROMPT_CHARS"]),
        max_system_chars=int(os.environ["MAX_SYSTEM_CHARS"]),
    )


def _stream(*, request: dict[str, Any]) -> dict[str, Any]:
    """Guarded once per requestId by :func:`_guarded`; ``request`` is the idempotency data."""
    stream_request = StreamRequest(**request)
    attempt = _next_attempt(stream_request.request_id)
    logger.append_keys(stream_id=stream_request.stream_id, attempt=attempt)
    session = boto3.session.Session()
    publisher = ChunkPublisher(
        parameters.get_parameter(os.environ[GRAPHQL_URL_PARAMETER_ENV], max_age=300),
        session.region_name,
        session.get_credentials(),
    )
    started = time.monotonic()
    try:
        outcome = run_stream(
            stream_request,
            settings(),
            session.client("bedrock-runtime", config=BEDROCK_CONFIG),
            publisher,
            attempt,
        )
    except StreamFailed:
        logger.exception("stream failed")
        raise
    finally:
        publisher.close()
    logger.info(
        "streamed",
        extra={"chunks": outcome.chunks, "seconds": round(time.monotonic() - started, 3)},
    )
    return {"streamId": stream_request.stream_id, "attempt": attempt, **asdict(outcome)}


def _next_attempt(request_id: str) -> int:
    """This request's attempt number, counted atomically beside its idempotency record."""
    answer = boto3.client("dynamodb").update_item(
        TableName=os.environ["IDEMPOTENCY_TABLE"],
        Key={"id": {"S": f"{ATTEMPT_KEY_PREFIX}{request_id}"}},
        UpdateExpression="ADD attempts :one SET expiration = :expires",
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":expires": {"N": str(int(time.time()) + IDEMPOTENCY_SECONDS)},
        },
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["attempts"]["N"])


@dataclass(frozen=True)
class _Guarded:
    config: IdempotencyConfig
    stream: Callable[..., dict[str, Any]]


_guarded: _Guarded | None = None


def _guards() -> _Guarded:
    """The idempotent stream, made on first use (once the env names the table)."""
    global _guarded
    if _guarded is None:
        config = IdempotencyConfig(
            event_key_jmespath="request_id", expires_after_seconds=IDEMPOTENCY_SECONDS
        )
        layer = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
        guarded = idempotent_function(
            _stream, data_keyword_argument="request", persistence_store=layer, config=config
        )
        _guarded = _Guarded(config=config, stream=guarded)
    return _guarded


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Stream once per requestId.

    Returns
    -------
    dict
        ``{"streamId", "attempt", "chunks", "text_bytes", "stop_reason", "usage"}``; a
        duplicate gets the first delivery's answer without streaming.

    Raises
    ------
    StreamRequestError
        Before anything is stored or sent, for an event the resolver would have refused.
    StreamFailed
        After the error chunk, when Bedrock or publishing failed.
    """
    request = parse_request(event, settings())
    logger.append_keys(request_id=request.request_id)
    guards = _guards()
    guards.config.register_lambda_context(context)
    return guards.stream(request=asdict(request))
