"""A stand-in for Amazon Bedrock's runtime API, so the real boto3 Converse path runs locally.

Functions reach it through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``; boto3's ``bedrock-runtime``
client talks to it unchanged.

Emulated:
- ``POST /model/{modelId}/converse-stream``: 200 ``application/vnd.amazon.eventstream``,
  chunked, one AWS event-stream frame per event: ``messageStart``, one ``contentBlockDelta``
  per token, ``contentBlockStop``, ``messageStop`` (``end_turn``, ``max_tokens`` or
  ``stop_sequence``), ``metadata`` (usage, latency), each padded with ``p`` as Bedrock does;
- ``POST /model/{modelId}/converse``: the same reply as one JSON answer;
- model ids: a few Anthropic foundation models, their ``us.``/``eu.``/``apac.``/``global.``
  inference profiles and both kinds of ARN; an unknown id, or a model that Bedrock serves
  only through a profile called by its bare id, is refused with Bedrock's message;
- Bedrock's request checks and messages (conversation shape, blank text, maxTokens against
  the model's limit, temperature/topP ranges, and the models that take only one of them);
- errors as Bedrock sends them: before the stream an HTTP status with ``x-amzn-ErrorType``,
  inside it an exception frame that botocore raises as ``EventStreamError``;
- auth: a request without ``Authorization`` is refused as Bedrock refuses it; any SigV4
  signature or bearer key is accepted, the signature is not verified;
- pacing (``Pacing``): time to the first token, then tokens per second;
- faults written into the prompt (``[ackflow-fault: ...]``, see ``faults``).

Not emulated: tool use, guardrails, images, documents and other non-text blocks, prompt
caching, reasoning, InvokeModel and the other operations, quotas, model access, regions
(every profile prefix serves every model), real token counts and real text: the model is a
deterministic writer of prose about the prompt's words (``reply``).
"""

from __future__ import annotations

from local.standins.bedrock.app import Pacing, create_bedrock_app

__all__ = ["Pacing", "create_bedrock_app"]
