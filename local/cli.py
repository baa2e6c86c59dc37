"""The ``ackflow`` command: run the stack on this machine, or print its offline plan."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from local.capture import CaptureError, capture
from local.preview import print_plan

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ackflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser(
        "preview", help="print the resources a stack declares (no AWS account, no Pulumi CLI)"
    )
    preview.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml (default: dev)")
    args = parser.parse_args(argv)

    console = Console()
    try:
        result = capture(args.stack)
    except CaptureError as error:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]ackflow {args.command}:[/] {error}", highlight=False)
        return 2
    print_plan(result, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
