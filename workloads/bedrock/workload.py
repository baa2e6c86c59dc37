"""Streaming a Bedrock model's answer as GraphQL subscription chunks (seeds 000 and 001)."""

from __future__ import annotations

from pydantic import Field, field_validator

from workloads import (
    ArgumentRule,
    Function,
    GraphQLField,
    Invocation,
    StackContext,
    Table,
    Workload,
    WorkloadSettings,
)
from workloads.bedrock.chunking import MAX_TEXT_BYTES
from workloads.bedrock.model_ids import default_model_id, invoke_arns
from workloads.bedrock.stream_request import NOT_BLANK, STREAM_ID_PATTERN


class BedrockSettings(WorkloadSettings):
    model_id: str | None = Field(None, pattern=r"^(arn:aws[a-z-]*:bedrock:[^\s]+|[a-z0-9-]+\.\S+)$")
    """The model: a foundation-model id, a geographic inference-profile id (``us.``, ``eu.``,
    ``apac.``) or the ARN of either. Unset: Claude Haiku 4.5 through the inference profile of
    the stack's region (``us.anthropic.claude-haiku-4-5-20251001-v1:0`` in ``us-east-1``)."""
    max_tokens: int = Field(1024, ge=1, le=8192)
    """The most tokens a stream may generate; a request may ask for fewer (``maxTokens``)."""
    temperature: float = Field(0.5, ge=0, le=1)
    system: str | None = Field(
        "You are a helpful assistant. Answer clearly and briefly.", max_length=4000
    )
    """The system prompt when a request gives none."""
    flush_ms: int = Field(150, ge=10, le=5000)
    """Publish a chunk when this long has passed since the last one... (150 ms: about 15
    tokens a chunk at Claude Haiku's pace, and still 6 updates a second)"""
    flush_bytes: int = Field(1024, ge=16, le=MAX_TEXT_BYTES)
    """...or when this much text has gathered, whichever comes first."""
    max_prompt_chars: int = Field(20_000, ge=1, le=200_000)
    """Longer prompts are refused before anything is queued."""
    max_system_chars: int = Field(4000, ge=0, le=20_000)

    @field_validator("model_id")
    @classmethod
    def _model_is_scopable(cls, model_id: str | None) -> str | None:
        if model_id is not None:
            invoke_arns(model_id, "us-east-1", "000000000000")  # raises for global or unknown
        return model_id


def _iam(settings: BedrockSettings, context: StackContext) -> list[dict]:
    model = settings.model_id or default_model_id(context.region)
    return [
        {
            "Effect": "Allow",
            "Action": "bedrock:InvokeModelWithResponseStream",
            "Resource": invoke_arns(model, context.region, context.account_id),
        }
    ]


def _environment(settings: BedrockSettings) -> dict[str, str]:
    return {
        "BEDROCK_MODEL_ID": settings.model_id or "",
        "BEDROCK_MAX_TOKENS": str(settings.max_tokens),
        "BEDROCK_TEMPERATURE": str(settings.temperature),
        "BEDROCK_SYSTEM": settings.system or "",
        "FLUSH_MS": str(settings.flush_ms),
        "FLUSH_BYTES": str(settings.flush_bytes),
        "MAX_PROMPT_CHARS": str(settings.max_prompt_chars),
        "MAX_SYSTEM_CHARS": str(settings.max_system_chars),
        "POWERTOOLS_SERVICE_NAME": "bedrock-worker",
    }


def _arguments(settings: BedrockSettings) -> dict[str, ArgumentRule]:
    return {
        "prompt": ArgumentRule(
            min_length=1, max_length=settings.max_prompt_chars, pattern=NOT_BLANK
        ),
        "streamId": ArgumentRule(pattern=STREAM_ID_PATTERN),
        "system": ArgumentRule(max_length=settings.max_system_chars),
        "maxTokens": ArgumentRule(minimum=1, maximum=settings.max_tokens),
    }


WORKLOAD = Workload(
    name="bedrock",
    summary="Streams a Bedrock model's answer to a prompt as onChunk subscription events.",
    settings=BedrockSettings,
    worker=Function(
        handler="worker.handler",
        # A stream takes a minute; a retry a minute later is still worth streaming.
        defaults={"timeout_seconds": 300, "memory_mb": 256, "max_event_age_seconds": 3600},
        environment=_environment,
    ),
    graphql=(
        GraphQLField(
            type_name="Mutation",
            field_name="startStream",
            invocation=Invocation.EVENT,
            arguments=_arguments,
        ),
    ),
    iam_statements=_iam,
    streams=True,
    tables=(Table(name="idempotency", env="IDEMPOTENCY_TABLE"),),
)
