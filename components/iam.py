"""IAM documents shared by the components."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi


def assume_role_policy(service: str) -> str:
    """A trust policy letting ``service`` (e.g. ``appsync.amazonaws.com``) assume the role."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


LAMBDA_ASSUME_ROLE_POLICY = assume_role_policy("lambda.amazonaws.com")


def logs_statement(log_group_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Write to the streams of one log group and nowhere else."""
    return {
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": pulumi.Output.from_input(log_group_arn).apply(lambda arn: f"{arn}:*"),
    }


def policy_document(statements: Iterable[Mapping[str, Any]]) -> pulumi.Output[str]:
    """A policy JSON document from statements whose values may be outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})
