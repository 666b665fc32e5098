"""`accord`: serve, and maintenance commands."""

from __future__ import annotations

import argparse
import sys

from .settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = Settings.from_env(
        host=args.host, port=args.port, database_url=args.database
    )
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
