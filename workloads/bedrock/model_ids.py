"""Which Bedrock model a stream calls, and the exact ARNs its role may invoke.

A model is named by a foundation-model id (``anthropic.claude-3-haiku-20240307-v1:0``), a
geographic inference-profile id (``us.``/``eu.``/``apac.`` + a model id), or the ARN of either.
An inference profile routes requests to the model in any region of its geography, so the role
needs the profile's ARN and the foundation model's ARN in each of those regions: nothing on
``*``. Plain Python, shared by the program (IAM) and the worker (the call).
"""

from __future__ import annotations

import re

__all__ = [
    "CLAUDE_HAIKU",
    "GEOGRAPHIES",
    "ModelError",
    "default_model_id",
    "invoke_arns",
]

CLAUDE_HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
"""The default model: Claude Haiku 4.5, which Bedrock serves through inference profiles only."""

GEOGRAPHIES = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"),
    "apac": (
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-4",
    ),
}
"""Each inference-profile prefix and the regions AWS routes it to (Bedrock's list for the
Claude profiles; the console's "Cross-region inference" page shows a model's own)."""

_REGION_GEOGRAPHY = {"us": "us", "ca": "us", "eu": "eu", "ap": "apac"}
_MODEL_ID = re.compile(r"^[a-z0-9-]+\.[a-zA-Z0-9.:_-]+$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d*):"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>.+)$"
)


class ModelError(ValueError):
    """The model id is not one this workload knows how to call and scope."""


def default_model_id(region: str) -> str:
    """Claude Haiku's inference profile for the geography of ``region``."""
    geography = _REGION_GEOGRAPHY.get(region.split("-")[0])
    if geography is None:
        raise ModelError(
            f"no Claude Haiku inference profile is known for region {region}: set modelId"
        )
    return f"{geography}.{CLAUDE_HAIKU}"


def invoke_arns(model: str, region: str, account: str) -> list[str]:
    """The ARNs ``bedrock:InvokeModelWithResponseStream`` must allow for ``model``."""
    if match := _ARN.match(model):
        if match["kind"] == "foundation-model":
            return [model]
        profile_region, profile_account, model = match["region"], match["account"], match["id"]
        region, account = profile_region or region, profile_account or account
    if not _MODEL_ID.match(model):
        raise ModelError(f"{model!r} is not a Bedrock model id, inference profile id or ARN")
    prefix, _, base = model.partition(".")
    if prefix == "global":
        raise ModelError(
            f"{model}: global inference profiles route to any region; use a geographic one "
            f"({', '.join(f'{g}.' for g in GEOGRAPHIES)}) so its role can be scoped"
        )
    if prefix not in GEOGRAPHIES:
        return [f"arn:aws:bedrock:{region}::foundation-model/{model}"]
    return [
        f"arn:aws:bedrock:{region}:{account}:inference-profile/{model}",
        *(f"arn:aws:bedrock:{routed}::foundation-model/{base}" for routed in GEOGRAPHIES[prefix]),
    ]
