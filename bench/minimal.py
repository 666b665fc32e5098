"""The framework's ceiling: one litestar route returning a small msgspec Struct.

Served by uvicorn with the settings `accord serve` uses (service/cli.py: the
same HTTP and websocket implementations and event loop uvicorn picks here,
no access log, the same timeouts), so the only difference from Accord is
everything Accord does. `python -m bench.minimal --port N`.
"""

from __future__ import annotations

import argparse

import msgspec
import uvicorn
from litestar import Litestar, get


class Small(msgspec.Struct, frozen=True):
    status: str
    position: int


@get("/small", sync_to_thread=False)
def small() -> Small:
    return Small(status="ok", position=1)


app = Litestar(route_handlers=[small], logging_config=None, openapi_config=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
