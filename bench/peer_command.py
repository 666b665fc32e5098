"""The peer for a clause edit: a hand-written litestar + asyncpg route with the same round trips at its core.

`PUT /api/agreements/{a}/clauses/{c}` with `Authorization: Bearer <token>`
and Accord's body (`{"text", "based_on_revision"}`) does what the simplest
hand-written event-sourced command would: look the token's sha256 up in
`accord_tokens` (the query of service/store/postgres.py `token_owner_at`, without the log's last position), read
the agreement's stream (`SELECT ... FROM accord_events WHERE originator_id=$1
ORDER BY originator_version`, without decoding or folding it), and append one
`ClauseEdited` record of the shape Accord stores at the next version through
the same store function, `PostgresStore.append` (one PL/pgSQL call under the
log's EXCLUSIVE lock). It answers `{"position", "version"}`, not a rendered
view; it checks neither the revision nor who may edit (that needs the fold):
the floor under what Accord's edit does.

It runs on a database of its own (`prepare` copies the accounts, tokens and
events of Accord's, so the streams are the same agreements, 2 to 52 events
long as the load edits them), so no Accord follower folds what it appends.
Served by uvicorn configured as bench/minimal.py; the store's pool has
Accord's sizes. `python -m bench.peer_command --port N --database DSN`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from uuid import UUID

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, put
from litestar.params import FromPath, JSONBody

from service.store.base import EVENTS_TABLE, ConflictError, NewEvent
from service.store.postgres import PostgresStore

from .peer_view import bearer
from .peer_view import main as serve_peer

TOPIC = "domain.agreement:Agreement.ClauseEdited"

TOKEN_OWNER = (
    "SELECT person_id FROM accord_tokens WHERE token_hash = $1 AND NOT revoked AND expires_at > $2"
)
STREAM = (
    f"SELECT originator_id, originator_version, topic, state, notification_id FROM {EVENTS_TABLE}"
    " WHERE originator_id = $1 ORDER BY originator_version"
)

UNAUTHORIZED = Response(b'{"detail":"sign in first"}', status_code=401, media_type="application/json")
NOT_FOUND = Response(b'{"detail":"not found"}', status_code=404, media_type="application/json")
CONFLICT = Response(b'{"detail":"conflict"}', status_code=409, media_type="application/json")


class EditClause(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    based_on_revision: int


class ClauseEdited(msgspec.Struct):
    """What Accord stores for a clause edit (domain/agreement.py ClauseEdited, as the mapper encodes it)."""

    timestamp: datetime
    by: UUID
    clause_id: UUID
    text: str
    revision: int
    version: int


class Done(msgspec.Struct):
    position: int
    version: int


encode = msgspec.json.Encoder().encode


async def prepare(source: str, target: str) -> None:
    """Give the database at `target` Accord's schema and the accounts, tokens and events of `source`."""
    store = PostgresStore(target, min_pool=1, max_pool=1)
    await store.open()  # the schema, as Accord creates it
    await store.close()
    src, dst = await asyncpg.connect(source), await asyncpg.connect(target)
    try:
        for table, columns, order in (
            ("accord_accounts", ["person_id", "handle", "display_name", "password_hash"], "person_id"),
            ("accord_tokens", ["token_hash", "person_id", "expires_at", "revoked"], "token_hash"),
            # Without notification_id: the target's sequence numbers them, in the source's order.
            (EVENTS_TABLE, ["originator_id", "originator_version", "topic", "state"], "notification_id"),
        ):
            rows = await src.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            await dst.copy_records_to_table(table, records=[tuple(r) for r in rows], columns=columns)
            await dst.execute(f"VACUUM ANALYZE {table}")
    finally:
        await src.close()
        await dst.close()


@put("/api/agreements/{agreement_id:uuid}/clauses/{clause_id:uuid}")
async def edit_clause(
    request: Request, agreement_id: FromPath[UUID], clause_id: FromPath[UUID], data: JSONBody[EditClause]
) -> Response[bytes]:
    token = bearer(request)
    if token is None:
        return UNAUTHORIZED
    store: PostgresStore = request.app.state.store
    now = datetime.now(timezone.utc)
    async with store.pool.acquire() as conn:
        owner = await conn.fetchval(TOKEN_OWNER, hashlib.sha256(token.encode()).digest(), now)
        if owner is None:
            return UNAUTHORIZED
        stream = await conn.fetch(STREAM, agreement_id)
    if not stream:
        return NOT_FOUND
    version = stream[-1][1] + 1
    state = encode(ClauseEdited(now, owner, clause_id, data.text, data.based_on_revision + 1, version))
    try:
        appended = await store.append([NewEvent(agreement_id, version, TOPIC, state)])
    except ConflictError:
        return CONFLICT
    return Response(encode(Done(appended.positions[-1], version)), media_type="application/json")


def app(dsn: str) -> Litestar:
    # Accord's pool sizes (PostgresStore's defaults, as `accord serve` uses them).
    store = PostgresStore(dsn)

    async def connect(app: Litestar) -> None:
        await store.open()
        app.state.store = store

    async def disconnect(app: Litestar) -> None:
        await store.close()

    return Litestar(
        route_handlers=[edit_clause], on_startup=[connect], on_shutdown=[disconnect],
        logging_config=None, openapi_config=None,
    )


if __name__ == "__main__":
    serve_peer(app)
