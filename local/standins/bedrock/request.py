"""A Converse / ConverseStream request, checked as Bedrock checks it, and the models it names.

Messages quoted from Bedrock are the ones clients report; those marked unconfirmed follow
AWS's usual wording where no report was found. Parts of the request the stand-in does not
emulate (tools, guardrails, images, documents, prompt caching...) are refused by name rather
than silently ignored, so a test cannot pass against a feature that is not there.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from local.standins.bedrock.errors import ValidationException

__all__ = ["ConverseRequest", "FoundationModel", "parse_converse", "resolve_model"]

USER = "user"
ASSISTANT = "assistant"
INVALID_MODEL = "The provided model identifier is invalid."
_MUST_START_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
_MUST_ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)
_NOT_EMULATED = ("toolConfig", "guardrailConfig", "promptVariables", "outputConfig")


@dataclass(frozen=True)
class FoundationModel:
    model_id: str
    max_output_tokens: int
    on_demand: bool = True
    """False: Bedrock serves it only through an inference profile."""
    one_sampling_parameter: bool = False
    """True: the model refuses ``temperature`` and ``topP`` together."""


_CATALOG = {
    model.model_id: model
    for model in (
        FoundationModel("anthropic.claude-3-haiku-20240307-v1:0", 4096),
        FoundationModel("anthropic.claude-3-5-haiku-20241022-v1:0", 8192),
        FoundationModel(
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            64000,
            on_demand=False,
            one_sampling_parameter=True,
        ),
        FoundationModel("anthropic.claude-3-5-sonnet-20240620-v1:0", 4096),
        FoundationModel("anthropic.claude-sonnet-4-20250514-v1:0", 64000, on_demand=False),
        FoundationModel(
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            64000,
            on_demand=False,
            one_sampling_parameter=True,
        ),
    )
}
# Which geography serves which model is not modelled: every prefix names every model here.
_PROFILE_PREFIXES = ("us", "eu", "apac", "global")
_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+:(?P<account>\d{12})?:"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>.+)"
)


def resolve_model(model_id: str) -> FoundationModel:
    """The foundation model behind a model id, inference-profile id, or either's ARN."""
    arn = _ARN.fullmatch(model_id)
    if arn:
        if (arn["kind"] == "inference-profile") != bool(arn["account"]):
            raise ValidationException(INVALID_MODEL)
        model_id = arn["id"]
    prefix, _, rest = model_id.partition(".")
    through_profile = prefix in _PROFILE_PREFIXES
    if arn and through_profile != (arn["kind"] == "inference-profile"):
        raise ValidationException(INVALID_MODEL)
    model = _CATALOG.get(rest if through_profile else model_id)
    if model is None:
        raise ValidationException(INVALID_MODEL)
    if not (model.on_demand or through_profile):
        raise ValidationException(
            f"Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. "
            "Retry your request with the ID or ARN of an inference profile that contains "
            "this model."
        )
    return model


@dataclass(frozen=True)
class ConverseRequest:
    model: FoundationModel
    system: tuple[str, ...]
    messages: tuple[tuple[str, str], ...]
    """(role, text) per message, the text of its blocks joined by newlines."""
    max_tokens: int
    stop_sequences: tuple[str, ...]

    @property
    def prompt(self) -> str:
        """The last user turn: what the reply answers."""
        return next(text for role, text in reversed(self.messages) if role == USER)

    @property
    def conversation_key(self) -> str:
        """One value per distinct conversation (system prompt and messages)."""
        return hashlib.sha256(json.dumps([self.system, self.messages]).encode()).hexdigest()


def parse_converse(model_id: str, raw_body: bytes) -> ConverseRequest:
    """The request, or the ValidationException Bedrock would answer it with."""
    model = resolve_model(model_id)
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):  # unconfirmed wording
        raise ValidationException(
            "Malformed input request, please reformat your input and try again."
        )
    for name in _NOT_EMULATED:
        if name in body:
            raise _not_emulated(name)
    config = _object(body.get("inferenceConfig", {}), "inferenceConfig")
    _check_sampling(config, model)
    return ConverseRequest(
        model=model,
        system=tuple(_system(body.get("system", []))),
        messages=tuple(_messages(body.get("messages"))),
        max_tokens=_max_tokens(config, model),
        stop_sequences=tuple(_stop_sequences(config)),
    )


def _messages(messages: Any) -> list[tuple[str, str]]:
    if not messages:  # missing or empty: unconfirmed which message Bedrock picks
        raise ValidationException(_MUST_START_WITH_USER)
    parsed: list[tuple[str, str]] = []
    for index, message in enumerate(_list(messages, "messages")):
        message = _object(message, f"messages.{index}")
        role = message.get("role")
        if role not in (USER, ASSISTANT):
            raise ValidationException(
                _constraint(
                    role,
                    f"messages.{index}.member.role",
                    f"Member must satisfy enum value set: [{USER}, {ASSISTANT}]",
                )
            )
        if index == 0 and role != USER:
            raise ValidationException(_MUST_START_WITH_USER)
        if parsed and parsed[-1][0] == role:
            raise ValidationException(_MUST_ALTERNATE)
        blocks = _list(message.get("content"), f"messages.{index}.content")
        if not blocks:  # unconfirmed wording
            raise ValidationException(
                f"The content field in the Message object at messages.{index} is empty. "
                "Add a ContentBlock object to the content field and try again."
            )
        texts = [
            _text(block, "ContentBlock", f"messages.{index}.content.{position}")
            for position, block in enumerate(blocks)
        ]
        parsed.append((role, "\n".join(texts)))
    return parsed


def _system(system: Any) -> list[str]:
    return [
        _text(block, "SystemContentBlock", f"system.{index}")
        for index, block in enumerate(_list(system, "system"))
    ]


def _text(block: Any, shape: str, path: str) -> str:
    block = _object(block, path)
    kinds = list(block)
    if kinds != ["text"]:
        raise _not_emulated(f"{shape} {'/'.join(kinds) or 'without a member'} (at {path})")
    text = block["text"]
    if not isinstance(text, str) or not text.strip():  # whitespace counts as blank
        raise ValidationException(
            f"The text field in the {shape} object at {path} is blank. "
            "Add text to the text field, and try again."
        )
    return text


def _check_sampling(config: dict[str, Any], model: FoundationModel) -> None:
    """temperature and topP are checked, never used: the stand-in's replies are fixed."""
    for name in ("temperature", "topP"):
        value = config.get(name, 0)
        if type(value) not in (int, float):
            raise _malformed(f"inferenceConfig.{name}", "a number")
        if not 0 <= value <= 1:
            raise ValidationException(
                _constraint(value, f"inferenceConfig.{name}", _range_rule(value))
            )
    if model.one_sampling_parameter and {"temperature", "topP"} <= config.keys():
        raise ValidationException(
            "The model returned the following errors: `temperature` and `top_p` cannot both "
            "be specified for this model. Please use only one."
        )


def _max_tokens(config: dict[str, Any], model: FoundationModel) -> int:
    max_tokens = config.get("maxTokens", model.max_output_tokens)
    if type(max_tokens) is not int or max_tokens < 1:
        raise ValidationException(
            _constraint(
                max_tokens,
                "inferenceConfig.maxTokens",
                "Member must have value greater than or equal to 1",
            )
        )
    limit = model.max_output_tokens
    if max_tokens > limit:
        raise ValidationException(
            f"The maximum tokens you requested exceeds the model limit of {limit}. "
            f"Try again with a maximum tokens value that is lower than {limit}."
        )
    return max_tokens


def _stop_sequences(config: dict[str, Any]) -> list[str]:
    sequences = _list(config.get("stopSequences", []), "inferenceConfig.stopSequences")
    if not all(isinstance(sequence, str) for sequence in sequences):
        raise _malformed("inferenceConfig.stopSequences", "a list of strings")
    return sequences


def _range_rule(value: float) -> str:
    side = "less than or equal to 1" if value > 1 else "greater than or equal to 0"
    return f"Member must have value {side}"


def _constraint(value: Any, path: str, rule: str) -> str:
    """AWS's generic wording for a field that breaks its model's constraint."""
    return (
        f"1 validation error detected: Value '{value}' at '{path}' "
        f"failed to satisfy constraint: {rule}"
    )


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(path, "an object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _malformed(path, "a list")
    return value


def _malformed(path: str, expected: str) -> ValidationException:
    return ValidationException(  # unconfirmed wording: botocore never sends these shapes
        f"Malformed input request: {path} must be {expected}, "
        "please reformat your input and try again."
    )


def _not_emulated(feature: str) -> ValidationException:
    return ValidationException(f"{feature} is not emulated by the ackflow Bedrock stand-in.")
