"""The event log: one interface, a PostgreSQL and an embedded SQLite implementation."""

from __future__ import annotations

from urllib.parse import urlsplit

from .base import (
    Appended,
    ConflictError,
    EventStore,
    NewEvent,
    StoredEvent,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "Appended",
    "ConflictError",
    "EventStore",
    "NewEvent",
    "StoreError",
    "StoreUnavailable",
    "StoredEvent",
    "connect",
]


def connect(url: str, *, poll_interval: float = 1.0, read_only: bool = False) -> EventStore:
    """The store a URL names, not yet opened.

    `sqlite:///relative.db`, `sqlite:////absolute/path.db`, or any
    `postgresql://` (or `postgres://`) URL asyncpg accepts, including the
    unix-socket form `postgresql://user@/db?host=/run/postgresql`. `read_only`:
    a PostgreSQL streaming replica, only read from (no schema set-up).
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"a sqlite URL needs a file path: sqlite:///accord.db, not {url!r}")
        if read_only:
            raise ValueError("the embedded store has no replicas: ACCORD_REPLICA_DATABASE_URL is for PostgreSQL")
        return SQLiteStore(path, poll_interval=poll_interval)
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return PostgresStore(url, poll_interval=poll_interval, read_only=read_only)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")
