"""The ``ackflow`` command: run a stack on this machine, or print its offline plan."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from local.appsync.chat import chat
from local.appsync.client import post_graphql, subscribe
from local.async_invoke.engine import DEFAULT_TIME_SCALE
from local.async_invoke.inbox import INBOX_FILE
from local.async_invoke.stats import DEFAULT_WINDOW_SECONDS, open_read_only, read_snapshot, watch
from local.aws_services.moto_server import AwsServices, NotOurProcess, PortBusy
from local.cloud.capture import (
    CaptureError,
    capture,
    encrypted_keys,
    read_stack_file,
    stack_file,
    stack_name,
)
from local.cloud.preview import print_plan
from local.cloud.state import StateError, hold_state_dir
from local.front.process import FrontDidNotStart
from local.lambda_.concurrency import DEFAULT_ACCOUNT_CONCURRENCY, InvalidReservedConcurrency
from local.processes import exit_with_parent, run_event_loop, run_in_niced_session
from local.standins.bedrock import Pacing
from local.standins.slack_command import send_command
from local.up import DEFAULT_PORT_BASE, Ports, UpOptions, serve
from workloads import WorkloadError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    errors = Console(stderr=True, soft_wrap=True)
    try:
        return args.run(args, console)
    except (
        CaptureError,
        PortBusy,
        FrontDidNotStart,
        LookupError,
        StateError,
        NotOurProcess,
        WorkloadError,
        InvalidReservedConcurrency,
    ) as error:
        errors.print(f"[bold red]ackflow {args.command}:[/] {error}", highlight=False)
        return 2
    except KeyboardInterrupt:  # Ctrl-C (`logs -f`, `slack` waiting): what the shell expects
        return 128 + signal.SIGINT


def _preview(args: argparse.Namespace, console: Console) -> int:
    stack, config = _stack_and_config(args)
    encrypted = encrypted_keys(args.stack_file or stack_file(stack))
    print_plan(capture(stack, config), console, encrypted)
    return 0


def _up(args: argparse.Namespace, console: Console) -> int:
    if os.environ.get(EXIT_WITH_PARENT_ENV) == "1":
        exit_with_parent()
    stack, config = _stack_and_config(args)
    options = UpOptions(
        stack=stack,
        config=config,
        state_root=args.state_dir,
        port_base=args.port_base,
        time_scale=args.time_scale,
        model_pacing=Pacing(
            first_token_seconds=args.model_first_token_seconds,
            tokens_per_second=args.model_tokens_per_second,
        ),
        account_concurrency=args.account_concurrency,
        max_environments=args.max_environments,
    )
    ports = Ports.from_base(args.port_base)
    # Held for the life of `ackflow up`, before anything touches the state folder.
    with hold_state_dir(options.state_dir, _holder("ackflow up", ports)):
        return run_in_niced_session(lambda: _serve(options, console))


def _serve(options: UpOptions, console: Console) -> int:
    run_event_loop(serve(options, console))
    return 0


def _holder(command: str, ports: Ports) -> dict[str, object]:
    """How a process holding the state folder describes itself to one that is refused."""
    return {
        "command": command,
        "ports": {name.rstrip("_"): port for name, port in dataclasses.asdict(ports).items()},
    }


EXIT_WITH_PARENT_ENV = "ACKFLOW_EXIT_WITH_PARENT"
"""Set by `make run`: when make is killed, `ackflow up` goes down with it (as after a kill -9:
queued events wait in SQLite, moto survives to be adopted) instead of holding the ports."""


def _down(args: argparse.Namespace, console: Console) -> int:
    """Stop the AWS services a crashed run left; refused while an `ackflow up` holds them."""
    ports = Ports.from_base(args.port_base)
    state_dir = args.state_dir / args.stack
    if not state_dir.is_dir():
        console.print(f"nothing to stop: no state folder {state_dir}")
        return 0
    with hold_state_dir(state_dir, _holder("ackflow down", ports)):
        AwsServices(state_dir, ports.aws, "us-east-1").stop()
    console.print(f"stopped the AWS services of stack {args.stack} (if any were running)")
    return 0


def _read_endpoints(args: argparse.Namespace) -> dict:
    """The ``endpoints.json`` that `ackflow up` wrote for ``--stack`` under ``--state-dir``."""
    endpoints_file = args.state_dir / args.stack / "endpoints.json"
    if not endpoints_file.is_file():
        raise LookupError(f"no {endpoints_file}: start the stack with `ackflow up` first")
    try:
        endpoints = json.loads(endpoints_file.read_text())
    except (OSError, ValueError) as error:
        raise LookupError(
            f"cannot read {endpoints_file} ({error}): the next `ackflow up` writes it anew"
        ) from None
    if not isinstance(endpoints, dict) or not isinstance(endpoints.get("functions"), list):
        raise LookupError(f"{endpoints_file} is not what `ackflow up` writes; start it again")
    return endpoints


def _logs(args: argparse.Namespace, console: Console) -> int:
    functions = _read_endpoints(args)["functions"]
    if args.function not in functions:
        raise LookupError(f"no function {args.function!r}; functions: {', '.join(functions)}")
    log = args.state_dir / args.stack / "logs" / f"{args.function}.log"
    position = 0
    while True:
        if log.exists():
            with log.open() as stream:
                stream.seek(position)
                sys.stdout.write(stream.read())
                sys.stdout.flush()
                position = stream.tell()
        if not args.follow:
            return 0
        time.sleep(0.2)


def _events(args: argparse.Namespace, console: Console) -> int:
    state_dir = args.state_dir / args.stack
    try:
        db = open_read_only(state_dir / "events.sqlite3", state_dir / INBOX_FILE)
    except FileNotFoundError:
        raise LookupError(
            f"no {state_dir / 'events.sqlite3'}: start the stack with `ackflow up` first"
        ) from None
    endpoints_file = state_dir / "endpoints.json"
    functions = (
        json.loads(endpoints_file.read_text()).get("functions")
        if endpoints_file.is_file()
        else None
    )
    try:
        if args.json:
            snapshot = read_snapshot(db, functions=functions, window=args.window)
            print(json.dumps(snapshot.as_json(), indent=2))
        else:
            with contextlib.suppress(KeyboardInterrupt):
                watch(db, console, functions=functions, interval=args.interval)
    finally:
        db.close()
    return 0


def _stack_and_config(args: argparse.Namespace) -> tuple[str, dict | None]:
    """``--stack-file`` names the stack and gives its config; else ``--stack``, config unread."""
    if args.stack_file is None:
        return args.stack, None
    return stack_name(args.stack_file), read_stack_file(args.stack_file)


def _slack(args: argparse.Namespace, console: Console) -> int:
    endpoints = _read_endpoints(args)
    if "slack_command_url" not in endpoints:
        raise LookupError(f"stack {args.stack} does not enable the slack workload")
    try:
        result = send_command(endpoints, args.command_line, wait_seconds=args.wait)
    except OSError as error:  # refused, reset, timed out: urllib's URLError is an OSError
        reason = getattr(error, "reason", error)
        raise LookupError(
            f"cannot reach stack {args.stack} ({reason}); is its `ackflow up` "
            f"(pid {endpoints.get('pid', '?')}) still running?"
        ) from None
    console.print(
        f"[bold]ack[/] {result.status} in {result.ack_seconds * 1000:.0f} ms: {result.ack}"
    )
    if not result.posts:
        console.print(f"nothing reached {result.response_url} within {args.wait:g} s")
        return 0 if result.status == 200 else 1
    for post in result.posts:
        console.print(f"[bold]posted[/] to the response URL: {post}")
    return 0


def _graphql(args: argparse.Namespace, console: Console) -> int:
    answer = asyncio.run(
        post_graphql(_read_endpoints(args), args.query, _variables(args), args.auth)
    )
    _print_json(console, answer.body)
    if answer.status != 200:
        console.print(f"[red]HTTP {answer.status}[/]")
    return 1 if answer.failed else 0


def _subscribe(args: argparse.Namespace, console: Console) -> int:
    endpoints = _read_endpoints(args)

    async def follow() -> None:
        seen = 0
        async for event in subscribe(endpoints, args.subscription, _variables(args), args.auth):
            _print_json(console, event)
            seen += 1
            if args.count and seen >= args.count:
                return

    console.print(f"[dim]subscribed at {endpoints.get('realtime_url')}; Ctrl-C stops[/]")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow())
    return 0


def _chat(args: argparse.Namespace, console: Console) -> int:
    endpoints = _read_endpoints(args)
    # Lambda's first retry comes a minute after a failure, scaled like every local delay.
    retry_wait = args.retry_wait or 60 * float(endpoints.get("time_scale", 1)) + 5
    result = asyncio.run(
        chat(
            endpoints,
            args.prompt,
            console,
            system=args.system,
            max_tokens=args.max_tokens,
            auth=args.auth,
            retry_wait_seconds=retry_wait,
        )
    )
    if result.error:
        console.print(f"[bold red]the stream failed:[/] {result.error}", highlight=False)
        return 1
    usage = result.usage or {}
    console.print(
        f"[dim]stop reason {result.stop_reason} · {usage.get('inputTokens')} tokens in, "
        f"{usage.get('outputTokens')} out · first chunk after "
        f"{(result.first_chunk_seconds or 0) * 1000:.0f} ms · {result.chunks} chunks, "
        f"{result.text_bytes} bytes[/]"
    )
    return 0


def _print_json(console: Console, value: Any) -> None:
    """Highlighted on a terminal; plain, unwrapped JSON when piped (so scripts can parse it)."""
    if isinstance(value, str):
        console.print(value, highlight=False)
    elif console.is_terminal:
        console.print_json(data=value)
    else:
        sys.stdout.write(json.dumps(value, indent=2) + "\n")
        sys.stdout.flush()


def _variables(args: argparse.Namespace) -> dict[str, Any]:
    try:
        variables = json.loads(args.variables)
    except ValueError as error:
        raise LookupError(f"--variables is not JSON: {error}") from None
    if not isinstance(variables, dict):
        raise LookupError("--variables must be a JSON object, e.g. '{\"n\": 12}'")
    return variables


def _time_scale(text: str) -> float:
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise argparse.ArgumentTypeError(
            f"must be a number above 0 (AWS's delays and ages are multiplied by it), got {text!r}"
        )
    return scale


def _port_base(text: str) -> int:
    highest = 65535 - (len(dataclasses.fields(Ports)) - 1)
    try:
        base = int(text)
    except ValueError:
        base = 0
    if not 1 <= base <= highest:
        raise argparse.ArgumentTypeError(
            f"must be a port from 1 to {highest} (the next {len(dataclasses.fields(Ports)) - 1} "
            f"ports are used too), got {text!r}"
        )
    return base


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ackflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml (default: dev)")
        sub.set_defaults(run=run)
        return sub

    preview = command(
        "preview", _preview, "print the resources a stack declares (no AWS, no Pulumi CLI)"
    )
    up = command("up", _up, "serve the stack on this machine with AWS's async semantics")
    down = command("down", _down, "stop AWS services a crashed `ackflow up` left running")
    logs = command("logs", _logs, "print a local function's log (invocations and request ids)")
    logs.add_argument("function", help="the function's name, as the endpoints table shows it")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    events = command("events", _events, "a live table of the async queue per function (read-only)")
    events.add_argument("--json", action="store_true", help="print the counts once, as JSON")
    events.add_argument(
        "--interval", type=float, default=1.0, help="seconds between refreshes (default: 1)"
    )
    events.add_argument(
        "--window",
        type=float,
        default=DEFAULT_WINDOW_SECONDS,
        help=f"seconds the drain rate is measured over (default: {DEFAULT_WINDOW_SECONDS:g})",
    )
    slack = command("slack", _slack, "send a signed slash command to the local stack")
    slack.add_argument("command_line", help='e.g. "/square 12"')
    slack.add_argument(
        "--wait", type=float, default=30, help="seconds to wait for the result (default: 30)"
    )
    graphql = command("graphql", _graphql, "send a query or mutation to the local GraphQL API")
    graphql.add_argument("query", help="e.g. 'query { square(number: \"12\") { square } }'")
    subscription = command("subscribe", _subscribe, "print a subscription's events as they arrive")
    subscription.add_argument("subscription", help="e.g. 'subscription { onChunk(streamId: ...) }'")
    subscription.add_argument("--count", type=int, help="stop after this many events")
    chat_command = command("chat", _chat, "stream a model's answer to a prompt, live")
    chat_command.add_argument("prompt", help='e.g. "Explain tides in two paragraphs"')
    chat_command.add_argument("--system", help="a system prompt (default: the stack's)")
    chat_command.add_argument("--max-tokens", type=int, help="at most this many tokens")
    chat_command.add_argument(
        "--retry-wait",
        type=float,
        help="after an error, seconds to wait for Lambda's retry (default: its first retry "
        "delay at the stack's time scale, plus 5 s)",
    )
    for sub in (graphql, subscription, chat_command):
        sub.add_argument("--variables", default="{}", help="a JSON object (default: {})")
        sub.add_argument(
            "--auth",
            choices=("apiKey", "iam"),
            help="the stack's API key, or SigV4 with the local credentials (default: the key "
            "when the stack has one)",
        )
    for sub in (preview, up):
        sub.add_argument(
            "--stack-file",
            type=Path,
            help="a stack file elsewhere (Pulumi.<stack>.yaml), instead of --stack",
        )
    for sub in (up, down, logs, slack, graphql, subscription, chat_command, events):
        sub.add_argument(
            "--state-dir", type=Path, default=Path(".ackflow"), help="default: .ackflow"
        )
    for sub in (up, down):
        sub.add_argument(
            "--port-base",
            type=_port_base,
            default=DEFAULT_PORT_BASE,
            help=f"REST, Lambda and AWS services listen on this port and the next ones "
            f"(default: {DEFAULT_PORT_BASE})",
        )
    up.add_argument(
        "--model-first-token-seconds",
        type=float,
        default=Pacing().first_token_seconds,
        help="the Bedrock stand-in's delay to the first token (default: %(default)s, near "
        "Claude Haiku)",
    )
    up.add_argument(
        "--model-tokens-per-second",
        type=float,
        default=Pacing().tokens_per_second,
        help="the Bedrock stand-in's pace after the first token (default: %(default)s)",
    )
    up.add_argument(
        "--time-scale",
        type=_time_scale,
        default=DEFAULT_TIME_SCALE,
        help=f"multiplies AWS's retry delays and event ages (default: {DEFAULT_TIME_SCALE}: "
        "a full retry cycle takes seconds)",
    )
    up.add_argument(
        "--account-concurrency",
        type=_positive_int,
        default=DEFAULT_ACCOUNT_CONCURRENCY,
        help="the Lambda account's concurrent executions; reserved concurrency is carved out of "
        f"it and a 429 answers when it is used up (default: {DEFAULT_ACCOUNT_CONCURRENCY}, AWS's)",
    )
    up.add_argument(
        "--max-environments",
        type=_positive_int,
        default=None,
        help="execution environments (processes) at most on this machine; above it invocations "
        "wait for one (default: min(16 per core, half the memory / 64 MiB))",
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
