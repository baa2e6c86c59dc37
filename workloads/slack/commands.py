"""The slash commands this app knows: parsing and help, shared by the front and the worker.

Pure functions and constants only: no AWS, no network, no import of ``squaring`` (the front's
bundle does not ship it; the worker does the squaring).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HELP_TEXT",
    "SLOW",
    "SQUARE",
    "Command",
    "escape",
    "help_for",
    "parse_command",
]

SQUARE = "/square"
SLOW = "/slow"

HELP_TEXT = (
    "I know these commands:\n"
    f"• `{SQUARE} &lt;number&gt;`: square a number exactly (`{SQUARE} 12`, `{SQUARE} 1.5`)\n"
    f"• `{SLOW}`: work for a while, long past Slack's 3 seconds, then report back"
)


@dataclass(frozen=True, kw_only=True)
class Command:
    """A command this app will run: its name and its argument text (stripped)."""

    name: str
    argument: str

    def __str__(self) -> str:
        return f"{self.name} {self.argument}".rstrip()


def parse_command(command: str, text: str) -> Command | None:
    """Return the command to run, or ``None`` when the user should get the help instead.

    ``None`` means an unknown command or ``/square`` without a number. ``/slow`` takes no
    argument; any text after it is ignored.
    """
    argument = text.strip()
    if command == SQUARE and argument:
        return Command(name=SQUARE, argument=argument)
    if command == SLOW:
        return Command(name=SLOW, argument="")
    return None


def help_for(command: str) -> str:
    """The help answered for a command :func:`parse_command` declined, saying why first."""
    if command == SQUARE:
        return f"`{SQUARE}` needs a number, like `{SQUARE} 12`.\n{HELP_TEXT}"
    return f"I don't know `{escape(command)}`.\n{HELP_TEXT}"


def escape(text: str) -> str:
    """Escape user text for Slack ``mrkdwn``, so it is echoed rather than interpreted.

    Slack reads ``<!channel>``, ``<@U123>`` and ``<http://x|label>`` in message text as mentions
    and links: echoing ``/square <!channel>`` unescaped would notify a whole channel.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
