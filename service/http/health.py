"""Liveness and the log's position."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get

from service.http.deps import AccordDep


class Health(msgspec.Struct):
    status: str
    store: str
    position: int


class HealthController(Controller):
    path = "/health"
    tags = ["service"]

    @get("/", summary="Liveness, the store kind and the log position this process has reached")
    async def health(self, accord: AccordDep) -> Response[Health]:
        # Liveness must not depend on the database: an outage would restart every replica.
        # It fails only when the log follower has died, which a restart does cure.
        alive = accord.alive
        health = Health(status="ok" if alive else "follower stopped", store=accord.store.kind, position=accord.position)
        return Response(health, status_code=200 if alive else 503)
