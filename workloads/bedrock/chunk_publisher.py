"""Publishing a stream's chunks: the ``publishChunk`` mutation, SigV4-signed (service
``appsync``) with the function's own credentials by botocore's signer, over one reused HTTP
connection. A failed publish is retried a few times; one that keeps failing raises
:class:`PublishFailed`, and the stream ends with an error."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["PUBLISH_CHUNK", "ChunkPublisher", "PublishFailed"]

PUBLISH_CHUNK = """
mutation PublishChunk($streamId: ID!, $seq: Int!, $attempt: Int, $text: String, $done: Boolean!,
                      $error: String, $stopReason: String, $usage: AWSJSON) {
  publishChunk(streamId: $streamId, seq: $seq, attempt: $attempt, text: $text, done: $done,
               error: $error, stopReason: $stopReason, usage: $usage) {
    streamId seq attempt text done error stopReason usage
  }
}"""
"""Selects every field: subscribers get only what the publishing mutation selected."""
ATTEMPTS = 3
BACKOFF_SECONDS = 0.2


class PublishFailed(Exception):
    """A chunk could not be published: AppSync refused it, or kept failing."""


class ChunkPublisher:
    """Sends chunks to one GraphQL URL as the function's IAM principal."""

    def __init__(
        self,
        graphql_url: str,
        region: str,
        credentials: Credentials,
        *,
        attempts: int = ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        self._url = graphql_url
        self._path = urlsplit(graphql_url).path or "/"
        self._signer = SigV4Auth(credentials, "appsync", region)
        self._pool = urllib3.connection_from_url(graphql_url, maxsize=1, block=True)
        self._attempts = attempts
        self._backoff = backoff_seconds
        self.published = 0

    def publish(self, chunk: Mapping[str, Any]) -> None:
        """Publish one chunk (``streamId``, ``seq``, ``attempt``, ``text``, ``done``, …)."""
        body = json.dumps({"query": PUBLISH_CHUNK, "variables": dict(chunk)}).encode()
        for attempt in range(1, self._attempts + 1):
            try:
                self._send(body)
            except PublishFailed:
                raise
            except (urllib3.exceptions.HTTPError, _Retryable) as error:
                if attempt == self._attempts:
                    raise PublishFailed(
                        f"publishChunk failed {attempt} times, last: {error}"
                    ) from error
                time.sleep(self._backoff * 2 ** (attempt - 1))
            else:
                self.published += 1
                return

    def close(self) -> None:
        self._pool.close()

    def _send(self, body: bytes) -> None:
        request = AWSRequest("POST", self._url, data=body, headers=_HEADERS)
        self._signer.add_auth(request)
        response = self._pool.urlopen(
            "POST", self._path, body=body, headers=dict(request.headers.items()), retries=False
        )
        if response.status >= 500 or response.status == 429:
            raise _Retryable(f"HTTP {response.status}: {response.data[:200]!r}")
        answer = _json(response.data)
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if response.status != 200 or errors:
            raise PublishFailed(
                f"publishChunk refused (HTTP {response.status}): {errors or answer}"
            )


class _Retryable(Exception):
    """A failure worth another try: the service was busy or broken for a moment."""


_HEADERS = {"content-type": "application/json"}


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data[:200]
