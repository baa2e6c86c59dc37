"""A Slack slash command: answered within Slack's 3 seconds, worked on afterwards."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workloads import Function, HttpRoute, Invocation, Secret, Table, Workload, WorkloadSettings


class SlackSettings(WorkloadSettings):
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    """Who sees the result the worker posts: the caller only, or the whole channel."""
    slow_seconds: int = Field(10, ge=0, le=600)
    """How long ``/slow`` works: long past Slack's 3-second limit, to show it doesn't matter."""


WORKLOAD = Workload(
    name="slack",
    summary="Slack slash commands (/square, /slow): ack within 3 s, post the result later.",
    settings=SlackSettings,
    front=Function(handler="front.handler", defaults={"timeout_seconds": 10, "memory_mb": 256}),
    worker=Function(
        handler="worker.handler",
        includes=("squaring",),
        # Slack's response_url lives 30 minutes: a retry a minute later still reaches the user,
        # and idempotency on trigger_id keeps a retried command from posting twice.
        defaults={"timeout_seconds": 900, "retries": 2, "max_event_age_seconds": 1800},
        environment=lambda settings: {
            "SLACK_RESPONSE_TYPE": settings.response_type,
            "SLACK_SLOW_SECONDS": str(settings.slow_seconds),
            "POWERTOOLS_SERVICE_NAME": "slack-worker",
        },
    ),
    routes=(
        HttpRoute(
            method="POST",
            path="/slack/commands",
            invocation=Invocation.EVENT,
            function="front",
            endpoint="slack_command_url",
        ),
    ),
    tables=(Table(name="idempotency", env="IDEMPOTENCY_TABLE"),),
    secrets=(
        Secret(
            key="slackSigningSecret",
            env="SLACK_SIGNING_SECRET_PARAMETER",
            description="the Slack app's signing secret (Basic Information → App Credentials)",
        ),
    ),
)
