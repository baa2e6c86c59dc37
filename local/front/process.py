"""The main process's side of the front process (:mod:`local.front.server`).

:class:`FrontProcess` listens on the public Invoke API's port (and the REST gateway's)
itself and hands the sockets to the front, so a busy port is refused before anything starts,
and a front that dies can be started again on the same sockets. It carries the channel's
messages: the front's "arrived" wakes the engine; the engine's view of its queue (as a
:class:`~local.async_invoke.engine.QueueObserver`) and its availability go to the front.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.async_invoke.engine import QueueObserver
from local.aws_services.moto_server import PortBusy
from local.front.server import READY, FrontConfig

if TYPE_CHECKING:
    from local.apigateway.model import RestModel
    from local.async_invoke.engine import AsyncEngine

__all__ = ["FrontDidNotStart", "FrontProcess"]

log = logging.getLogger(__name__)

AVAILABILITY_POLL_SECONDS = 0.1
"""How often the engine's availability is looked at (it turns over seconds, not ms)."""
MAX_RESTARTS = 3
"""A front that dies is started again, this many times (then the failure is the user's to
see: the Invoke API's port is closed)."""
STARTUP_SECONDS = 60.0
"""How long a front may take to serve (its imports, on a busy machine)."""
STOP_SECONDS = 5.0
"""How long a stopping front may take to finish its requests."""
_REPO = Path(__file__).resolve().parents[2]


class FrontDidNotStart(RuntimeError):
    """The front process exited, or did not serve within :data:`STARTUP_SECONDS`."""


class FrontProcess(QueueObserver):
    """Starts the front, keeps it running, and carries the messages between it and ``engine``.

    ``inbox``: the engine's inbox file; ``service_url``: the Lambda service in this process,
    where the front forwards what it does not answer itself; ``function_keys``: see
    :class:`~local.front.server.FrontConfig`; ``rest_model``: the REST APIs the front serves
    (none: no REST gateway there). Its output is this process's.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        inbox: Path,
        service_url: str,
        arns: Mapping[str, str],
        function_keys: Iterable[str],
        state_dir: Path,
        rest_model: RestModel | None = None,
    ) -> None:
        self._engine = engine
        self._inbox = inbox
        self._service_url = service_url
        self._arns = dict(arns)
        self._function_keys = list(function_keys)
        self._config_path = state_dir / "front.json"
        self._model_path = state_dir / "front-rest-model.pickle"
        self._rest_model = rest_model
        self._listeners: list[socket.socket] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outgoing: dict[str, Counter[str]] = {"started": Counter(), "received": Counter()}
        self._flush_pending = False
        self._state: dict[str, Any] = {"imported": 0, "unavailable": None}
        self._closing = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self, port: int, rest_port: int | None = None) -> None:
        """Listen on ``port`` (and ``rest_port``, for the REST gateway) and start the front;
        raises :class:`~local.aws_services.moto_server.PortBusy` if a port is taken."""
        for listening in (port, rest_port) if self._rest_model else (port,):
            try:
                listener = socket.create_server(("127.0.0.1", listening), backlog=1024)
            except OSError as error:
                raise PortBusy(
                    f"cannot listen on port {listening}: {error.strerror}; pick other ports "
                    "with --port-base"
                ) from error
            listener.set_inheritable(True)
            self._listeners.append(listener)
        if self._rest_model is not None:
            self._model_path.write_bytes(pickle.dumps(self._rest_model))
        self._engine.observer = self
        await self._spawn()
        self._tasks.append(asyncio.create_task(self._watch_availability()))

    async def close(self) -> None:
        """Stop the front: closing its channel makes it finish the requests it has (their
        acks committed) and exit; one that does not within :data:`STOP_SECONDS` is killed."""
        self._closing = True
        if self._engine.observer is self:
            self._engine.observer = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._channel is not None:
            self._channel.close()
        if self._process is not None and self._process.poll() is None:
            try:
                await asyncio.wait_for(asyncio.to_thread(self._process.wait), STOP_SECONDS)
            except TimeoutError:
                self._process.kill()
                await asyncio.to_thread(self._process.wait)
        for listener in self._listeners:
            listener.close()

    # -- the engine's side (QueueObserver) ---------------------------------------------------

    def recounted(self, queued: Mapping[str, int]) -> None:
        self._send({"recounted": dict(queued)})

    def received(self, function_name: str) -> None:
        self._count("received", function_name)

    def started(self, function_name: str) -> None:
        self._count("started", function_name)

    def imported(self, through_seq: int) -> None:
        self._state["imported"] = through_seq
        self._send({"imported": through_seq})

    # -- the process and its channel ---------------------------------------------------------

    async def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        fds = [listener.fileno() for listener in self._listeners]
        FrontConfig(
            listen_fd=fds[0],
            channel_fd=theirs.fileno(),
            inbox=str(self._inbox),
            service_url=self._service_url,
            arns=self._arns,
            allowed_waits=self._engine.allowed_waits,
            function_keys=self._function_keys,
            rest_fd=fds[1] if len(fds) > 1 else None,
            rest_model=str(self._model_path) if len(fds) > 1 else None,
        ).write(self._config_path)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "local.front.server", str(self._config_path)],
            cwd=_REPO,
            stdin=subprocess.DEVNULL,
            pass_fds=(*fds, theirs.fileno()),
            # Its own session, so its own autogroup where Linux has them: the scheduler gives
            # it a share of its own rather than a part of the runtime's, which drains bursts.
            # (Ctrl-C reaches only the runtime, which stops it in order.)
            start_new_session=True,
        )
        theirs.close()
        reader, self._channel = await asyncio.open_unix_connection(sock=ours)
        try:  # until it serves: ackflow up's endpoints must answer once they are written
            ready = await asyncio.wait_for(reader.readline(), STARTUP_SECONDS)
        except TimeoutError:
            ready = b""
        if json.loads(ready or "null") != READY:
            self._process.kill()
            raise FrontDidNotStart(
                "the front process (the Invoke API and the REST gateway) did not start: its "
                "error is printed above; mend that and run ackflow up again"
            )
        if self.restarts:  # a new front knows nothing: tell it where the queue stands
            self._send({**self._state, "recounted": self._engine.queued_first_runs()})
        self._tasks.append(asyncio.create_task(self._listen(reader, self._process)))

    async def _listen(self, reader: asyncio.StreamReader, process: subprocess.Popen[bytes]) -> None:
        """The front's arrivals wake the engine; when its channel closes, it is gone."""
        # A front killed with messages unread resets the channel rather than closing it.
        with contextlib.suppress(ConnectionError):
            while await reader.readline():
                self._engine.inbox_arrived()
        self._engine.inbox_arrived()  # what it committed last
        if self._closing:
            return
        code = await asyncio.to_thread(process.wait)
        if self.restarts >= MAX_RESTARTS:
            log.critical(
                "the front process exited (%s) %d times: the Invoke API and the REST gateway "
                "are down; restart ackflow up",
                code,
                self.restarts + 1,
            )
            for listener in self._listeners:
                listener.close()
            return
        self.restarts += 1
        log.error("the front process exited (%s); starting it again", code)
        try:
            await self._spawn()
        except FrontDidNotStart as error:
            log.critical("%s", error)
            for listener in self._listeners:
                listener.close()

    def _count(self, kind: str, function_name: str) -> None:
        self._outgoing[kind][function_name] += 1
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """The counts of one turn of the loop, in one message."""
        self._flush_pending = False
        message = {kind: dict(counts) for kind, counts in self._outgoing.items() if counts}
        for counts in self._outgoing.values():
            counts.clear()
        if message:
            self._send(message)

    def _send(self, message: Mapping[str, Any]) -> None:
        if self._channel is None or self._channel.is_closing():
            return  # a new front is told the state when it starts
        with contextlib.suppress(ConnectionError):
            self._channel.write(json.dumps(message).encode() + b"\n")

    async def _watch_availability(self) -> None:
        while True:
            reason = self._engine.unavailable
            if reason != self._state["unavailable"]:
                self._state["unavailable"] = reason
                self._send({"unavailable": reason})
            await asyncio.sleep(AVAILABILITY_POLL_SECONDS)
