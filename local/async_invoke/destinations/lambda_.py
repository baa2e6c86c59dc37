"""Lambda destinations: each record is a new asynchronous invocation of the function."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence

from local.async_invoke.destinations.base import Arn, Message, Outcome, outcome_of_error

__all__ = ["InvokeAsync", "LambdaDestination"]

InvokeAsync = Callable[[str, bytes], Awaitable[object] | object]
"""``invoke_async(function_name, payload)``: queue an asynchronous invocation of a function
(a coroutine function such as the engine's ``accept``, or a plain one)."""


class LambdaDestination:
    """Invokes the function an ARN names (``function:<name>[:<qualifier>]``)."""

    def __init__(self, invoke_async: Callable[[], InvokeAsync | None]) -> None:
        self._invoke_async = invoke_async

    async def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._invoke(arn, target, m) for m in messages)))

    async def _invoke(self, arn: str, target: Arn, message: Message) -> Outcome:
        if message.dead_letter is not None:
            return Outcome(message.id, "rejected", f"a dead-letter target is SQS or SNS: {arn}")
        invoke_async = self._invoke_async()
        if invoke_async is None:
            return Outcome(message.id, "rejected", f"no Lambda service to invoke {arn}")
        function_name = target.resource.split(":")[1]
        try:
            accepted = invoke_async(function_name, message.body)
            if inspect.isawaitable(accepted):
                await accepted
        except (KeyError, ValueError) as error:  # no such function, payload over 1 MB
            return Outcome(message.id, "rejected", f"Lambda destination {arn}: {error}")
        except Exception as error:
            return outcome_of_error(message.id, error)
        return Outcome(message.id, "sent")
