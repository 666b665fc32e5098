"""`accord`: serve, and maintenance commands."""

from __future__ import annotations

import argparse
import sys

from .settings import Settings


def _configure_logging(level: str) -> None:
    import logging

    from .http.observability import JsonFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .serving import GracefulServer

    settings = Settings.from_env(host=args.host, port=args.port, database_url=args.database)
    _configure_logging(args.log_level)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # our own request log has the route template and request id
        timeout_graceful_shutdown=20,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )
    GracefulServer(config, app.state.accord).run()
    return 0


def _maintenance(args: argparse.Namespace, work: str) -> int:
    import asyncio

    from . import maintenance

    settings = Settings.from_env(database_url=args.database)
    return asyncio.run(getattr(maintenance, work)(settings))


def _migrate(args: argparse.Namespace) -> int:
    return _maintenance(args, "migrate")


def _rebuild(args: argparse.Namespace) -> int:
    return _maintenance(args, "rebuild")


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from .demo import run

    return asyncio.run(run(Settings.from_env(database_url=args.database), force=args.force))


def _watch(args: argparse.Namespace) -> int:
    import getpass
    import os

    from .watch import main as watch

    password = os.environ.get("ACCORD_PASSWORD") or getpass.getpass(f"Password for {args.handle}: ")
    return watch(args.server, args.handle, password)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accord", description="Accord: relationship agreements, consented.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP and websocket service")
    serve.add_argument("--host", help="interface to bind (ACCORD_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (ACCORD_PORT, default 8000)")
    serve.add_argument(
        "--database",
        help="sqlite:///accord.db (default) or postgresql://user@host/db (ACCORD_DATABASE_URL)",
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=_serve)
    demo = commands.add_parser("demo", help="fill the store with a small example network to try Accord")
    demo.add_argument("--database", help="as for serve (ACCORD_DATABASE_URL)")
    demo.add_argument("--force", action="store_true", help="add the example even if the log is not empty")
    demo.set_defaults(run=_demo)
    watch = commands.add_parser("watch", help="sign in and print the live updates a person receives")
    watch.add_argument("--server", default="http://127.0.0.1:8000", help="the service's address")
    watch.add_argument("--handle", required=True, help="whose updates (password: ACCORD_PASSWORD or a prompt)")
    watch.set_defaults(run=_watch)
    for name, run, summary in (
        ("migrate", _migrate, "create or upgrade the database schema (idempotent)"),
        ("rebuild", _rebuild, "replay the whole log through the read models, with a progress bar"),
    ):
        command = commands.add_parser(name, help=summary)
        command.add_argument("--database", help="as for serve (ACCORD_DATABASE_URL)")
        command.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
