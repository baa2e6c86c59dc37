"""moto on an ephemeral loopback port, shared by the local runtime's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from local.cloud.fake_cloud import ACCOUNT_ID


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto owning the ARNs' account, as `ackflow up` runs it."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_ACCOUNT_ID", ACCOUNT_ID)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()
