"""Liveness and the log's position."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from service.application import Accord
from service.http.deps import AccordDep


class Health(msgspec.Struct):
    status: str
    store: str
    position: int


class HealthController(Controller):
    path = "/health"
    tags = ["service"]

    @get("/", summary="Liveness, the store kind and the log position this process has reached")
    async def health(self, accord: AccordDep) -> Health:
        # Liveness must not depend on the database: an outage would restart every replica.
        return Health(status="ok", store=accord.store.kind, position=accord.position)
