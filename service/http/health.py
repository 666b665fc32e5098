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

    @get("/", summary="Liveness, the store kind and the current log position")
    async def health(self, accord: AccordDep) -> Health:
        return Health(status="ok", store=accord.store.kind, position=await accord.store.max_position())
