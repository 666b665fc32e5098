"""uvicorn's server, with Accord's goodbye to websocket clients on SIGTERM."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from types import FrameType

import uvicorn

from service.application import Accord


class GracefulServer(uvicorn.Server):
    """On SIGTERM, first ask every websocket client to reconnect elsewhere.

    uvicorn then stops accepting, closes websockets with 1012 (service
    restart), waits for in-flight requests, and runs the app's shutdown.
    """

    def __init__(self, config: uvicorn.Config, accord: Accord) -> None:
        super().__init__(config)
        self.accord = accord

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.accord.hub.close_all("server shutting down; reconnect with since")
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises the signal after a graceful shutdown, so the process
        # would end "killed by SIGTERM"; a finished shutdown is a clean exit.
        with super().capture_signals():
            yield
            self._captured_signals.clear()
