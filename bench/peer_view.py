"""The peer for a view read: a hand-written litestar + asyncpg route serving one stored document.

`GET /api/agreements/{id}` with `Authorization: Bearer <token>` does what the
simplest hand-written service with a materialised view would: look the
token's sha256 up in Accord's own `accord_tokens` table (the query of
service/store/postgres.py `token_owner_at`, without the log's last position), then fetch one row by primary key
from `bench_documents(key text primary key, doc bytea)`, the key being
`<agreement id>:<person id>`, and answer its bytes as JSON. The documents are
the views Accord itself answered the same people (bench/views.py stores them
with `prepare`), so the bytes on the wire are the same size.

Served by uvicorn configured as bench/minimal.py (as `accord serve` is), with
an asyncpg pool of Accord's sizes (2 to 10) that skips the reset round trip
on release as Accord's does; both queries on one pooled connection.
`python -m bench.peer_view --port N --database DSN`.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from uuid import UUID

import asyncpg
import uvicorn
from litestar import Litestar, Request, Response, get
from litestar.params import FromPath

TABLE = "bench_documents"

TOKEN_OWNER = (
    "SELECT person_id FROM accord_tokens WHERE token_hash = $1 AND NOT revoked AND expires_at > $2"
)
DOCUMENT = f"SELECT doc FROM {TABLE} WHERE key = $1"

UNAUTHORIZED = Response(b'{"detail":"sign in first"}', status_code=401, media_type="application/json")
NOT_FOUND = Response(b'{"detail":"not found"}', status_code=404, media_type="application/json")


async def prepare(dsn: str, documents: dict[str, bytes]) -> None:
    """Create `bench_documents` in the database at `dsn` and store `documents` (key: bytes)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key text PRIMARY KEY, doc bytea NOT NULL)")
        await conn.executemany(
            f"INSERT INTO {TABLE} (key, doc) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
            list(documents.items()),
        )
        await conn.execute(f"ANALYZE {TABLE}")
    finally:
        await conn.close()


def key(agreement_id: UUID | str, person_id: UUID | str) -> str:
    return f"{agreement_id}:{person_id}"


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@get("/api/agreements/{agreement_id:uuid}")
async def view(request: Request, agreement_id: FromPath[UUID]) -> Response[bytes]:
    token = bearer(request)
    if token is None:
        return UNAUTHORIZED
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        owner = await conn.fetchval(TOKEN_OWNER, hashlib.sha256(token.encode()).digest(), datetime.now(timezone.utc))
        if owner is None:
            return UNAUTHORIZED
        doc = await conn.fetchval(DOCUMENT, key(agreement_id, owner))
    if doc is None:
        return NOT_FOUND
    return Response(doc, media_type="application/json")


async def _no_reset(connection: asyncpg.Connection) -> None:
    """As Accord's pool (service/store/postgres.py): no reset round trip when a connection returns."""


def app(dsn: str) -> Litestar:
    async def connect(app: Litestar) -> None:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10, reset=_no_reset)

    async def disconnect(app: Litestar) -> None:
        await app.state.pool.close()

    return Litestar(
        route_handlers=[view], on_startup=[connect], on_shutdown=[disconnect],
        logging_config=None, openapi_config=None,
    )


def serve(application: Litestar, host: str, port: int) -> None:
    """uvicorn as bench/minimal.py (and `accord serve`) configures it."""
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )
    uvicorn.Server(config).run()


def main(make: Callable[[str], Litestar] = app) -> None:
    """Serve a peer (this one, or another module's `app`) as `python -m bench.<module> --port P --database DSN`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    serve(make(args.database), args.host, args.port)


if __name__ == "__main__":
    main()
