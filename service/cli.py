"""`accord`: serve, and maintenance commands."""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import sys
import textwrap
from dataclasses import fields
from functools import cache
from urllib.parse import parse_qs, unquote, urlsplit

from .settings import Settings

#: What `serve --log-level` accepts (lower case, as people type them).
LOG_LEVELS = ("debug", "info", "warning", "error")

#: Settings `accord serve` also takes as flags; every other one is an environment variable only.
SERVE_FLAGS = {"host": "--host", "port": "--port", "database_url": "--database"}


# --------------------------------------------------------------------------
# Settings, described from the Settings class itself so help cannot drift
# --------------------------------------------------------------------------


def env_name(field: str) -> str:
    """The variable `Settings.from_env` reads for a field."""
    return f"ACCORD_{field.upper()}"


@cache
def setting_docs() -> dict[str, str]:
    """Each Settings field's docstring (the string under it in the class body), by field name."""
    try:
        source = inspect.getsource(Settings)
    except OSError:  # installed without sources: help goes without the docs rather than the CLI failing
        return {}
    body = ast.parse(textwrap.dedent(source)).body[0].body  # type: ignore[attr-defined]
    return {
        node.target.id: doc.value.value
        for node, doc in zip(body, body[1:], strict=False)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and isinstance(doc, ast.Expr)
        and isinstance(doc.value, ast.Constant)
        and isinstance(doc.value.value, str)
    }


def _default(field: str) -> str:
    value = getattr(Settings(), field)
    return "empty" if value == "" else str(value)


def _setting_help(field: str) -> str:
    # argparse %-formats help strings, so a literal % in a docstring must be doubled.
    text = f"{setting_docs().get(field, '')} ({env_name(field)}; default: {_default(field)})".lstrip()
    return text.replace("%", "%%")


def env_only_epilog() -> str:
    """The settings `serve` has no flag for: one entry per variable, its default and its docstring."""
    entries = []
    for field in fields(Settings):
        if field.name in SERVE_FLAGS:
            continue
        entry = f"  {env_name(field.name)} (default: {_default(field.name)})"
        if doc := setting_docs().get(field.name):
            entry += "\n" + textwrap.fill(doc, width=76, initial_indent="    ", subsequent_indent="    ")
        entries.append(entry)
    return "settings taken only from the environment:\n" + "\n".join(entries)


# --------------------------------------------------------------------------
# serve
# --------------------------------------------------------------------------


def describe_store(database_url: str) -> str:
    """Which store a database URL names, for people to read. Never includes a password."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        # The same path `store.connect` opens; absolute, so it says where the file is whatever the directory.
        return f"SQLite {os.path.abspath(database_url[len('sqlite:///'):])}"
    if parts.scheme in ("postgresql", "postgres"):
        # Split the netloc by hand rather than with .hostname/.password: a password with an
        # unescaped "@" or a multi-host list must not leak into, or break, the line.
        userinfo, _, hosts = parts.netloc.rpartition("@")
        user = unquote(userinfo.partition(":")[0])
        host = hosts or parse_qs(parts.query).get("host", ["the default host"])[0]
        database = unquote(parts.path.lstrip("/")) or user or "the default database"
        return f"PostgreSQL database {database} on {host}" + (f" as {user}" if user else "")
    return f"a {parts.scheme or 'unknown'} store"


def serving_line(settings: Settings) -> str:
    """The one plain line `accord serve` prints before its JSON logs: where it serves, on which store."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host  # an IPv6 address in a URL
    return f"Accord serving http://{host}:{settings.port} on {describe_store(settings.database_url)}"


def _configure_logging(level: str) -> None:
    import logging

    from .http.observability import JsonFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # A line per request: leave out what JsonFormatter never writes, which each record would otherwise
    # gather (the caller's frame, thread and process; the logging HOWTO's "Optimization").
    logging._srcfile = None  # type: ignore[attr-defined]  # as the HOWTO says
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from .app import create_app
    from .maintenance import check_master_key
    from .serving import GracefulServer

    settings = Settings.from_env(host=args.host, port=args.port, database_url=args.database)
    _configure_logging(args.log_level)
    asyncio.run(check_master_key(settings))
    app = create_app(settings)
    # On stdout: stderr carries only JSON log lines, which log collectors (and the ops tests) parse.
    print(serving_line(settings), flush=True)
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


# --------------------------------------------------------------------------
# The other commands
# --------------------------------------------------------------------------


def _maintenance(args: argparse.Namespace, work: str) -> int:
    import asyncio

    from . import maintenance

    settings = Settings.from_env(database_url=args.database)
    return asyncio.run(getattr(maintenance, work)(settings))


def _migrate(args: argparse.Namespace) -> int:
    return _maintenance(args, "migrate")


def _rotate_master_key(args: argparse.Namespace) -> int:
    return _maintenance(args, "rotate_master_key")


def _new_master_key(args: argparse.Namespace) -> int:
    from .crypto import new_master_key

    print(new_master_key())
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    import asyncio

    from . import maintenance

    settings = Settings.from_env(database_url=args.database)
    return asyncio.run(maintenance.rebuild(settings, args.projections))


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from .demo import run

    return asyncio.run(run(Settings.from_env(database_url=args.database), force=args.force))


def _watch(args: argparse.Namespace) -> int:
    import getpass

    from .watch import main as watch

    password = os.environ.get("ACCORD_PASSWORD") or getpass.getpass(f"Password for {args.handle}: ")
    return watch(args.server, args.handle, password)


# --------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API, web pages and live updates",
        description="Run Accord: the HTTP API, the web pages and the live websocket updates.\n"
        "Each setting comes from its flag, else its ACCORD_* environment variable,\n"
        "else its default.",
        epilog=env_only_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the epilog's table as laid out
    )
    serve.add_argument("--host", help=_setting_help("host"))
    serve.add_argument("--port", type=int, help=_setting_help("port"))
    serve.add_argument("--database", metavar="URL", help=_setting_help("database_url"))
    serve.add_argument(
        "--log-level",
        type=str.lower,  # so INFO works too
        choices=LOG_LEVELS,
        default="info",
        help="least severe log lines written, as JSON on stderr (default: %(default)s)",
    )
    serve.set_defaults(run=_serve)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    from .demo import (
        PASSWORD,  # the one the demo registers everyone with, so help cannot drift
    )

    demo = commands.add_parser(
        "demo",
        help="fill the store with a small example network to try Accord",
        description="Fill the store with a small example network (Mina, her partners and a metamour, "
        f"with agreements between them) to try Accord. Everyone in it signs in with the password {PASSWORD}. "
        "A store that already has events is left alone unless --force is given.",
    )
    demo.add_argument("--database", metavar="URL", help=_setting_help("database_url"))
    demo.add_argument("--force", action="store_true", help="add the example even if the log is not empty")
    demo.set_defaults(run=_demo)


def _add_watch(commands: argparse._SubParsersAction) -> None:
    watch = commands.add_parser(
        "watch",
        help="sign in and print the live updates a person receives",
        description="Sign in as one person and print each live update they receive, one line per change, "
        "on stdout. After a dropped connection it reconnects and resumes where it stopped. "
        "The password comes from ACCORD_PASSWORD, else a prompt.",
    )
    watch.add_argument("--server", default="http://127.0.0.1:8000", help="the service's address (default: %(default)s)")
    watch.add_argument("--handle", required=True, help="whose updates: the handle to sign in as")
    watch.set_defaults(run=_watch)


def _add_maintenance(commands: argparse._SubParsersAction) -> None:
    for name, run, summary, description in (
        (
            "migrate",
            _migrate,
            "create or upgrade the database schema (idempotent)",
            "Create the database schema, or upgrade it to this version's. "
            "Safe to run again, and alongside running services.",
        ),
        (
            "rebuild",
            _rebuild,
            "rebuild projections from the log, without downtime",
            "Rebuild persisted projections (all, or those named) from the whole event log beside the "
            "live ones, showing progress on stderr, and switch each in once it has caught up; running "
            "services keep answering meanwhile.",
        ),
        (
            "rotate-master-key",
            _rotate_master_key,
            "rewrap every data key under a new master key",
            "Rewrap every data key under ACCORD_MASTER_KEY (the new one), opening each with it or one of "
            "ACCORD_PREVIOUS_MASTER_KEYS (the old ones). No event is touched. Give running services both "
            "settings first, so they read keys under either while this runs; then drop the old key.",
        ),
    ):
        command = commands.add_parser(name, help=summary, description=description)
        command.add_argument("--database", metavar="URL", help=_setting_help("database_url"))
        if name == "rebuild":
            from .read.projector import PROJECTIONS

            command.add_argument(
                "projections", nargs="*", metavar="NAME",
                help=f"projections to rebuild (default: all): {', '.join(p.name for p in PROJECTIONS)}",
            )
        command.set_defaults(run=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accord",
        description="Accord: relationship agreements, consented. Run `accord COMMAND --help` for a command's options.",
    )
    # Not required: bare `accord` is how people ask what it does, and main answers with this help.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_serve(commands)
    _add_demo(commands)
    _add_watch(commands)
    _add_maintenance(commands)
    commands.add_parser(
        "new-master-key",
        help="print a new random master key",
        description="Print a new random master key (32 bytes, URL-safe base64) for ACCORD_MASTER_KEY.",
    ).set_defaults(run=_new_master_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # Help, not a usage error, and exit 0: asking what accord does is not a mistake.
        parser.print_help()
        return 0
    from .crypto import KeysError

    try:
        return args.run(args)
    except KeysError as error:
        # A missing or wrong master key: say so plainly, never a traceback (and never the key).
        print(f"accord: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
