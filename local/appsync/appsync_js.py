"""Run one APPSYNC_JS resolver in V8 (mini-racer) with the ``util``, ``runtime`` and
``extensions`` that AppSync provides, as the local AppSync gateway's engine.

The module's ``import { ... } from '@aws-appsync/utils'`` becomes a destructuring of the
emulated utilities and its ``export function``s become plain functions in a private scope.
Each handler call is one V8 call that returns the result with everything the handler did on
the side (stash, appended errors, subscription filter, logs), so calls never mix.

Emulated: ``util.autoId`` (a version-4 UUID from V8's ``Math.random``: unique, not a
secret), ``util.time.nowISO8601/nowEpochSeconds/nowEpochMilliSeconds/
parseISO8601ToEpochMilliSeconds/epochMilliSecondsToSeconds/epochMilliSecondsToISO8601``,
``util.error``, ``util.appendError``, ``util.unauthorized``,
``util.isNull/isNullOrEmpty/isNullOrBlank``, ``util.matches``, ``util.urlEncode/urlDecode``,
``util.transform.toSubscriptionFilter``, ``runtime.earlyReturn`` (with ``skipTo``),
``extensions.setSubscriptionFilter``,
``extensions.setSubscriptionInvalidationFilter``, ``extensions.invalidateSubscriptions`` and
``console``. Anything else is undefined here, so a resolver that uses it fails loudly instead of
half-working.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from py_mini_racer import JSEvalException, JSTimeoutException, MiniRacer

from local.appsync.errors import FieldError

__all__ = [
    "AppSyncJs",
    "AppSyncJsError",
    "Handler",
    "HandlerOutcome",
    "ResolverCodeError",
    "ResolverError",
]

Handler = Literal["request", "response"]

UTILS_MODULE = "@aws-appsync/utils"
DEFAULT_TIMEOUT_SECONDS = 10.0
"""How long one handler may run here before it is stopped (a local guard, not an AWS limit)."""


class AppSyncJsError(Exception):
    """Base of the errors a resolver run raises."""


class ResolverError(FieldError, AppSyncJsError):
    """The resolver called ``util.error``: AppSync answers a GraphQL error with its
    ``message``, ``error_type``, ``data`` and ``error_info``."""


class ResolverCodeError(AppSyncJsError):
    """The resolver code itself failed: bad syntax, an unsupported import, a JS exception."""


@dataclass(frozen=True)
class HandlerOutcome:
    """What one handler call returned and did on the side."""

    result: Any
    stash: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)
    """``util.appendError`` calls: ``{message, errorType, data, errorInfo}`` each."""
    subscription_filter: dict[str, Any] | None = None
    """The argument of ``extensions.setSubscriptionFilter``, if it was called."""
    invalidation_filter: dict[str, Any] | None = None
    """The argument of ``extensions.setSubscriptionInvalidationFilter``, if it was called."""
    invalidations: list[dict[str, Any]] = field(default_factory=list)
    """``extensions.invalidateSubscriptions`` calls: ``{subscriptionField, payload}`` each."""
    early_return: bool = False
    """``runtime.earlyReturn`` was called: AppSync skips the data source and response."""
    skip_to: str = "NEXT"
    """``runtime.earlyReturn``'s ``skipTo``: ``NEXT`` (the next function) or ``END``."""
    logs: list[str] = field(default_factory=list)


class AppSyncJs:
    """One resolver module loaded into its own V8 context.

    ``run`` returns a handler's result and keeps the rest in ``last``; ``invoke`` returns the
    whole :class:`HandlerOutcome` (use it when several threads share one runner).
    """

    def __init__(
        self,
        code: str,
        *,
        name: str = "resolver",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.name = name
        self.last: HandlerOutcome | None = None
        self._timeout = timeout_seconds
        module = _as_script(code, name)
        # mini-racer binds a context to the loop running where it is made, or to its own.
        self._loop = _running_loop()
        self._racer = MiniRacer()
        _OPEN.add(self)
        try:
            self._racer.eval(_RUNTIME_JS)
            self._racer.eval(_MODULE_JS.format(module=module))
        except JSEvalException as error:
            self.close()
            raise ResolverCodeError(f"{name}: {error}") from None

    @classmethod
    def from_file(cls, path: Path | str, **kwargs: Any) -> AppSyncJs:
        path = Path(path)
        return cls(path.read_text(), name=kwargs.pop("name", path.name), **kwargs)

    def run(self, handler: Handler, ctx: dict[str, Any]) -> Any:
        """Call ``request`` or ``response`` with ``ctx`` and return its result (JSON values)."""
        self.last = self.invoke(handler, ctx)
        return self.last.result

    def invoke(self, handler: Handler, ctx: dict[str, Any]) -> HandlerOutcome:
        """Call a handler; raise :class:`ResolverError` when it calls ``util.error``."""
        _check_handler(handler)
        try:
            answer = self._racer.call("__ackflow.run", handler, ctx, timeout_sec=self._timeout)
        except JSTimeoutException:
            raise self._overran(handler) from None
        except JSEvalException as error:
            raise ResolverCodeError(f"{self.name}: {handler}: {error}") from None
        return self._outcome(handler, answer)

    async def invoke_async(self, handler: Handler, ctx: dict[str, Any]) -> HandlerOutcome:
        """:meth:`invoke` for a caller on an event loop, which it never blocks.

        A runner made on this loop (as the local AppSync makes them) runs V8 on it, cancelled
        at the timeout; one made elsewhere runs on its own loop, from a worker thread."""
        _check_handler(handler)
        if self._loop is not asyncio.get_running_loop():
            return await asyncio.to_thread(self.invoke, handler, ctx)
        script = f"JSON.stringify(__ackflow.run.apply(this, {json.dumps([handler, ctx])}))"
        try:
            text = await asyncio.wait_for(self._racer.eval_cancelable(script), self._timeout)
        except TimeoutError:
            raise self._overran(handler) from None
        except JSEvalException as error:
            raise ResolverCodeError(f"{self.name}: {handler}: {error}") from None
        return self._outcome(handler, json.loads(text))

    def _overran(self, handler: Handler) -> ResolverCodeError:
        return ResolverCodeError(
            f"{self.name}: {handler} ran over {self._timeout} s and was stopped"
        )

    def _outcome(self, handler: Handler, answer: dict[str, Any]) -> HandlerOutcome:
        status = answer["status"]
        if status == "error":
            error = answer["error"]
            raise ResolverError(
                str(error.get("message") or ""),
                error_type=error.get("errorType"),
                data=error.get("data"),
                error_info=error.get("errorInfo"),
            )
        if status == "exception":
            raise ResolverCodeError(f"{self.name}: {handler}: {answer['message']}")
        return HandlerOutcome(
            result=answer.get("result"),
            stash=answer.get("stash") or {},
            errors=answer["errors"],
            subscription_filter=answer.get("filter"),
            invalidation_filter=answer.get("invalidationFilter"),
            invalidations=answer["invalidations"],
            early_return=status == "earlyReturn",
            skip_to=answer.get("skipTo") or "NEXT",
            logs=answer["logs"],
        )

    @property
    def stash(self) -> dict[str, Any]:
        """The stash as the last ``run`` left it (pass it on to the next handler)."""
        return self.last.stash if self.last else {}

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.last.errors if self.last else []

    @property
    def subscription_filter(self) -> dict[str, Any] | None:
        return self.last.subscription_filter if self.last else None

    def close(self) -> None:
        _OPEN.discard(self)
        self._racer.close()

    def __enter__(self) -> AppSyncJs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_handler(handler: str) -> None:
    if handler not in ("request", "response"):
        raise ValueError(f"handler must be 'request' or 'response', got {handler!r}")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# mini-racer 0.14 closes a context left to the garbage collector by joining its event-loop
# thread; at interpreter exit that daemon thread is already frozen and the join never returns.
# Closing what is still open while threads still run avoids the hang.
_OPEN: weakref.WeakSet[AppSyncJs] = weakref.WeakSet()


@atexit.register
def _close_open_runners() -> None:
    for runner in list(_OPEN):
        runner.close()


# Resolvers run in strict mode with their own console; the module body becomes a function.
_MODULE_JS = """__ackflow.load(function (__appsync) {{
'use strict';
const console = __appsync.console;
{module}
}});"""

_IMPORT = re.compile(
    r"^[ \t]*import\s*\{(?P<names>[^}]*)\}\s*from\s*(?P<q>['\"])(?P<module>[^'\"]+)(?P=q)\s*;?",
    re.MULTILINE,
)
_EXPORT = re.compile(r"^([ \t]*)export\s+(?=(?:function|const|let|var)\b)", re.MULTILINE)
_LEFTOVER = re.compile(r"^[ \t]*(?:import|export)\b", re.MULTILINE)


def _as_script(code: str, name: str) -> str:
    """The module as a function body: utils destructured from ``__appsync``, exports plain."""

    def utils(match: re.Match[str]) -> str:
        if match["module"] != UTILS_MODULE:
            raise ResolverCodeError(f"{name}: only {UTILS_MODULE} can be imported here")
        names = re.sub(r"\bas\b", ":", match["names"])
        return f"const {{{names}}} = __appsync;"

    script = _EXPORT.sub(r"\1", _IMPORT.sub(utils, code))
    if leftover := _LEFTOVER.search(script):
        line = script[leftover.start() :].splitlines()[0].strip()
        raise ResolverCodeError(f"{name}: unsupported module syntax: {line}")
    return (
        f"{script}\n"
        "return { request: typeof request === 'function' ? request : undefined,\n"
        "         response: typeof response === 'function' ? response : undefined };"
    )


_RUNTIME_JS = r"""
var __ackflow = (function () {
  'use strict';
  const ABORT = Symbol('abort');
  const OPERATORS = ['eq', 'ne', 'le', 'lt', 'ge', 'gt', 'contains', 'notContains',
                     'beginsWith', 'in', 'notIn', 'between', 'containsAny'];
  let module = null;
  let effects = null;

  function hex(count) {
    let out = '';
    for (let i = 0; i < count; i += 1) out += Math.floor(Math.random() * 16).toString(16);
    return out;
  }

  function filtersOf(object, ignored) {
    const filters = [];
    for (const [fieldName, condition] of Object.entries(object)) {
      if (fieldName === 'or' || fieldName === 'and' || ignored.includes(fieldName)) continue;
      for (const [operator, value] of Object.entries(condition)) {
        if (!OPERATORS.includes(operator)) {
          throw new Error(`unknown subscription filter operator '${operator}' on ${fieldName}`);
        }
        filters.push({ fieldName, operator, value });
      }
    }
    for (const part of object.and || []) filters.push(...filtersOf(part, ignored));
    return filters;
  }

  const util = {
    autoId() {
      const variant = '89ab'[Math.floor(Math.random() * 4)];
      return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
    },
    time: {
      nowISO8601: () => new Date().toISOString(),
      nowEpochSeconds: () => Math.floor(Date.now() / 1000),
      nowEpochMilliSeconds: () => Date.now(),
      parseISO8601ToEpochMilliSeconds: (text) => Date.parse(text),
      epochMilliSecondsToSeconds: (millis) => Math.floor(millis / 1000),
      epochMilliSecondsToISO8601: (millis) => new Date(millis).toISOString(),
    },
    // AppSync's util.matches is Java's Pattern.matches: the whole value must match.
    matches: (pattern, text) => new RegExp(`^(?:${pattern})$`).test(String(text)),
    urlEncode: (text) => encodeURIComponent(text),
    urlDecode: (text) => decodeURIComponent(text),
    error(message, errorType, data, errorInfo) {
      throw { [ABORT]: 'error', error: { message, errorType, data, errorInfo } };
    },
    appendError(message, errorType, data, errorInfo) {
      effects.errors.push({ message, errorType: errorType ?? null, data: data ?? null,
                            errorInfo: errorInfo ?? null });
    },
    unauthorized() {
      const info = effects.ctx.info || {};
      util.error(`Not Authorized to access ${info.fieldName} on type ${info.parentTypeName}`,
                 'Unauthorized');
    },
    isNull: (value) => value === null || value === undefined,
    isNullOrEmpty: (value) => util.isNull(value) || value === '',
    isNullOrBlank: (value) => util.isNull(value) || String(value).trim() === '',
    transform: {
      // AppSync's documented shape: {filterGroup: [{filters: [{fieldName, operator, value}]}]};
      // the fields of the object are ANDed in one group, `or` alternatives make one group each.
      toSubscriptionFilter(object, ignoredFields, rules) {
        if (rules !== undefined) throw new Error('toSubscriptionFilter rules are not emulated');
        const ignored = ignoredFields || [];
        const shared = filtersOf(object, ignored);
        const alternatives = object.or || [];
        const groups = alternatives.length === 0 ? [{ filters: shared }]
          : alternatives.map((alt) => ({ filters: [...shared, ...filtersOf(alt, ignored)] }));
        return { filterGroup: groups };
      },
    },
  };
  const runtime = {
    earlyReturn(value, options) {
      throw { [ABORT]: 'earlyReturn', value, skipTo: (options && options.skipTo) || 'NEXT' };
    },
  };
  const extensions = {
    setSubscriptionFilter(filter) { effects.filter = filter; },
    setSubscriptionInvalidationFilter(filter) { effects.invalidationFilter = filter; },
    invalidateSubscriptions(invalidation) {
      // AppSync allows 5 distinct invalidateSubscriptions calls per request.
      if (effects.invalidations.length >= 5) {
        throw new Error('extensions.invalidateSubscriptions may be called at most 5 times');
      }
      effects.invalidations.push(invalidation);
    },
  };
  const console = {};
  for (const level of ['log', 'debug', 'info', 'warn', 'error']) {
    console[level] = (...parts) => effects.logs.push(parts.map(
      (p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' '));
  }

  function load(factory) {
    module = factory({ util, runtime, extensions, console });
  }

  function run(name, ctx) {
    effects = { ctx, errors: [], filter: null, invalidationFilter: null, invalidations: [],
                logs: [] };
    if (typeof module[name] !== 'function') {
      return { status: 'exception', message: `the module exports no ${name} function` };
    }
    const args = ctx.arguments ?? ctx.args ?? {};
    ctx.arguments = args;
    ctx.args = args;
    ctx.stash = ctx.stash ?? {};
    const done = (status, more) => ({ status, stash: ctx.stash, errors: effects.errors,
                                      filter: effects.filter,
                                      invalidationFilter: effects.invalidationFilter,
                                      invalidations: effects.invalidations,
                                      logs: effects.logs, ...more });
    try {
      return done('ok', { result: module[name](ctx) ?? null });
    } catch (thrown) {
      if (thrown && thrown[ABORT] === 'earlyReturn') {
        return done('earlyReturn', { result: thrown.value ?? null, skipTo: thrown.skipTo });
      }
      if (thrown && thrown[ABORT] === 'error') return done('error', { error: thrown.error });
      return done('exception', { message: String((thrown && thrown.stack) || thrown) });
    }
  }

  return { load, run };
})();
"""
