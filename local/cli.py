"""The ``ackflow`` command: run a stack on this machine, or print its offline plan."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from local.async_invoke.engine import DEFAULT_TIME_SCALE
from local.aws_services.moto_server import AwsServices, PortBusy
from local.cloud.capture import CaptureError, capture, read_stack_file, stack_name
from local.cloud.preview import print_plan
from local.lambda_.concurrency import DEFAULT_ACCOUNT_CONCURRENCY, InvalidReservedConcurrency
from local.standins.slack_command import send_command
from local.up import DEFAULT_PORT_BASE, Ports, UpOptions, serve

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    errors = Console(stderr=True, soft_wrap=True)
    try:
        return args.run(args, console)
    except (CaptureError, PortBusy, LookupError, InvalidReservedConcurrency) as error:
        errors.print(f"[bold red]ackflow {args.command}:[/] {error}", highlight=False)
        return 2


def _preview(args: argparse.Namespace, console: Console) -> int:
    stack, config = _stack_and_config(args)
    print_plan(capture(stack, config), console)
    return 0


def _up(args: argparse.Namespace, console: Console) -> int:
    if os.environ.get(EXIT_WITH_PARENT_ENV) == "1":
        _exit_with_parent()
    stack, config = _stack_and_config(args)
    options = UpOptions(
        stack=stack,
        config=config,
        state_root=args.state_dir,
        port_base=args.port_base,
        time_scale=args.time_scale,
        account_concurrency=args.account_concurrency,
        max_environments=args.max_environments,
    )
    asyncio.run(serve(options, console))
    return 0


EXIT_WITH_PARENT_ENV = "ACKFLOW_EXIT_WITH_PARENT"
"""Set by `make run`: when make is killed, `ackflow up` goes down with it (as after a kill -9:
queued events wait in SQLite, moto survives to be adopted) instead of holding the ports."""


def _exit_with_parent() -> None:
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os.kill(os.getpid(), signal.SIGKILL)


def _down(args: argparse.Namespace, console: Console) -> int:
    ports = Ports.from_base(args.port_base)
    AwsServices(args.state_dir / args.stack, ports.aws, "us-east-1").stop()
    console.print(f"stopped the AWS services of stack {args.stack} (if any were running)")
    return 0


def _logs(args: argparse.Namespace, console: Console) -> int:
    endpoints_file = args.state_dir / args.stack / "endpoints.json"
    if not endpoints_file.is_file():
        raise LookupError(f"no {endpoints_file}: start the stack with `ackflow up` first")
    functions = json.loads(endpoints_file.read_text())["functions"]
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


def _stack_and_config(args: argparse.Namespace) -> tuple[str, dict | None]:
    """``--stack-file`` names the stack and gives its config; else ``--stack``, config unread."""
    if args.stack_file is None:
        return args.stack, None
    return stack_name(args.stack_file), read_stack_file(args.stack_file)


def _slack(args: argparse.Namespace, console: Console) -> int:
    endpoints_file = args.state_dir / args.stack / "endpoints.json"
    if not endpoints_file.is_file():
        raise LookupError(f"no {endpoints_file}: start the stack with `ackflow up` first")
    endpoints = json.loads(endpoints_file.read_text())
    if "slack_command_url" not in endpoints:
        raise LookupError(f"stack {args.stack} does not enable the slack workload")
    result = send_command(endpoints, args.command_line, wait_seconds=args.wait)
    console.print(
        f"[bold]ack[/] {result.status} in {result.ack_seconds * 1000:.0f} ms: {result.ack}"
    )
    if not result.posts:
        console.print(f"nothing reached {result.response_url} within {args.wait:g} s")
        return 0 if result.status == 200 else 1
    for post in result.posts:
        console.print(f"[bold]posted[/] to the response URL: {post}")
    return 0


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
    slack = command("slack", _slack, "send a signed slash command to the local stack")
    slack.add_argument("command_line", help='e.g. "/square 12"')
    slack.add_argument(
        "--wait", type=float, default=30, help="seconds to wait for the result (default: 30)"
    )
    for sub in (preview, up):
        sub.add_argument(
            "--stack-file",
            type=Path,
            help="a stack file elsewhere (Pulumi.<stack>.yaml), instead of --stack",
        )
    for sub in (up, down, logs, slack):
        sub.add_argument(
            "--state-dir", type=Path, default=Path(".ackflow"), help="default: .ackflow"
        )
    for sub in (up, down):
        sub.add_argument(
            "--port-base",
            type=int,
            default=DEFAULT_PORT_BASE,
            help=f"REST, Lambda and AWS services listen on this port and the next ones "
            f"(default: {DEFAULT_PORT_BASE})",
        )
    up.add_argument(
        "--time-scale",
        type=float,
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
