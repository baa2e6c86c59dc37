"""Running a field's resolver as AppSync does: unit or pipeline, APPSYNC_JS, its data sources.

A unit resolver runs ``request`` → data source → ``response``; a pipeline resolver runs its
``request``, then each function's ``request`` → data source → ``response`` (the result passed on
as ``ctx.prev.result``), then its own ``response``. ``runtime.earlyReturn`` skips as AppSync
documents: in a unit or function request, the data source and that response; in a pipeline's
request (or with ``skipTo: 'END'``), every function. The stash is shared by all of them.

Data sources: ``AWS_LAMBDA`` goes through the Lambda service's Invoke API (``Event`` is queued
by the async engine and gives ``ctx.result`` null, as on AWS); ``NONE`` hands the request's
``payload`` to the response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from local.appsync.appsync_js import AppSyncJs, HandlerOutcome, ResolverCodeError
from local.appsync.errors import LAMBDA_UNHANDLED, FieldError
from local.lambda_.invocation import EventQueueUnavailable, Throttled

if TYPE_CHECKING:
    from local.appsync.model import DataSource, GraphQLApi, Resolver
    from local.lambda_.invocation import Invoker

__all__ = ["Effects", "ResolverRunner"]

MAPPING_TEMPLATE = "MappingTemplate"
"""AppSync's error type for a resolver whose code fails or asks for something invalid."""
INVOCATION_TYPES = ("RequestResponse", "Event")


@dataclass
class Effects:
    """What the resolvers of one request did besides returning values."""

    appended_errors: list[tuple[list[str | int], dict[str, Any]]] = field(default_factory=list)
    subscription_filter: dict[str, Any] | None = None
    invalidation_filter: dict[str, Any] | None = None
    invalidations: list[dict[str, Any]] = field(default_factory=list)

    def keep(self, outcome: HandlerOutcome, path: list[str | int]) -> None:
        self.appended_errors.extend((path, error) for error in outcome.errors)
        self.subscription_filter = outcome.subscription_filter or self.subscription_filter
        self.invalidation_filter = outcome.invalidation_filter or self.invalidation_filter
        self.invalidations.extend(outcome.invalidations)


class ResolverRunner:
    """Every resolver and function of one API loaded in V8, run against its data sources."""

    def __init__(self, api: GraphQLApi, invoker: Invoker) -> None:
        self._api = api
        self._invoker = invoker
        self._code = {
            key: AppSyncJs(r.code, name=f"{r.type_name}.{r.field_name}")
            for key, r in api.resolvers.items()
        }
        self._functions = {
            key: AppSyncJs(f.code, name=f"function {f.name}") for key, f in api.functions.items()
        }

    def close(self) -> None:
        for runner in (*self._code.values(), *self._functions.values()):
            runner.close()

    async def resolve(
        self, resolver: Resolver, ctx: dict[str, Any], effects: Effects, path: list[str | int]
    ) -> Any:
        """The field's value, or :class:`FieldError` as AppSync reports it."""
        code = self._code[(resolver.type_name, resolver.field_name)]
        if resolver.kind == "UNIT":
            assert resolver.data_source is not None
            source = self._api.data_sources[resolver.data_source]
            result, _ = await self._step(code, source, ctx, effects, path)
            return result
        before = await self._handler(code, "request", ctx, effects, path)
        ctx["stash"] = before.stash
        result = before.result
        if not before.early_return:
            for function_id in resolver.functions:
                function = self._api.functions[function_id]
                ctx["prev"] = {"result": result}
                source = self._api.data_sources[function.data_source]
                result, skip_to_end = await self._step(
                    self._functions[function_id], source, ctx, effects, path
                )
                if skip_to_end:
                    break
        ctx["prev"] = {"result": result}
        after = await self._handler(code, "response", ctx, effects, path)
        return after.result

    async def _step(
        self,
        code: AppSyncJs,
        source: DataSource,
        ctx: dict[str, Any],
        effects: Effects,
        path: list[str | int],
    ) -> tuple[Any, bool]:
        """``request`` → data source → ``response`` of a unit resolver or a pipeline function;
        returns the result and whether ``earlyReturn`` asked to skip to the pipeline's end."""
        request = await self._handler(code, "request", ctx, effects, path)
        ctx["stash"] = request.stash
        if request.early_return:
            return request.result, request.skip_to == "END"
        result, error = await self._call(source, request.result)
        response_ctx = {**ctx, "result": result, "error": error}
        response = await self._handler(code, "response", response_ctx, effects, path)
        ctx["stash"] = response.stash
        return response.result, False

    async def _handler(
        self,
        code: AppSyncJs,
        handler: str,
        ctx: dict[str, Any],
        effects: Effects,
        path: list[str | int],
    ) -> HandlerOutcome:
        try:
            # Not in the shared thread pool: it is often busy with blocking AWS calls
            # (deliveries), and every resolver would queue behind them.
            outcome = await code.invoke_async(handler, ctx)  # type: ignore[arg-type]
        except ResolverCodeError as error:  # util.error's ResolverError is a FieldError already
            raise FieldError(str(error), MAPPING_TEMPLATE) from None
        effects.keep(outcome, path)
        return outcome

    async def _call(self, source: DataSource, request: Any) -> tuple[Any, dict[str, Any] | None]:
        """The data source's ``(ctx.result, ctx.error)`` for the request handler's answer."""
        if source.type == "NONE":
            return (request.get("payload") if isinstance(request, Mapping) else None), None
        return await self._invoke_lambda(source, request)

    async def _invoke_lambda(
        self, source: DataSource, request: Any
    ) -> tuple[Any, dict[str, Any] | None]:
        if not isinstance(request, Mapping) or request.get("operation") != "Invoke":
            operation = request.get("operation") if isinstance(request, Mapping) else None
            raise FieldError(
                f"Unsupported operation '{operation}'. A Lambda data source takes "
                "{operation: 'Invoke', invocationType, payload} here (BatchInvoke is not "
                "emulated).",
                MAPPING_TEMPLATE,
            )
        invocation_type = request.get("invocationType") or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            raise FieldError(f"Invalid invocationType '{invocation_type}'.", MAPPING_TEMPLATE)
        assert source.function_arn is not None
        payload = json.dumps(request.get("payload"), separators=(",", ":")).encode()
        try:
            answer = await self._invoker.invoke(source.function_arn, payload, invocation_type)
        except Throttled:
            # Assumed shape: AppSync names the Lambda error in the type (unconfirmed text).
            return None, {"message": "Rate Exceeded.", "type": "Lambda:TooManyRequestsException"}
        except EventQueueUnavailable as unavailable:  # the local event store refused it
            return None, {"message": str(unavailable), "type": "Lambda:ServiceException"}
        except (KeyError, ValueError) as error:  # no such function; payload over the limit
            kind = (
                "ResourceNotFoundException"
                if isinstance(error, KeyError)
                else ("RequestEntityTooLargeException")
            )
            return None, {"message": str(error), "type": f"Lambda:{kind}"}
        if invocation_type == "Event":
            return None, None
        document = _json(answer.payload)
        if answer.function_error:
            message = document.get("errorMessage") if isinstance(document, dict) else None
            return None, {"message": message or str(document), "type": LAMBDA_UNHANDLED}
        return document, None


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return payload.decode("utf-8", errors="replace")
