"""Liveness and the log's position."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.exceptions import ServiceUnavailableException

from service.http.deps import AccordDep
from service.http.responses import _problem


class Health(msgspec.Struct):
    status: str
    store: str
    position: int


#: Like every error, a 503 here is a problem (application/problem+json), so the document names one body for it.
NOT_LIVE = {
    503: _problem(
        "The log follower has stopped (a restart cures it), or this server has not caught up with "
        "the `Accord-Position` named"
    )
}


class HealthController(Controller):
    path = "/health"
    tags = ["service"]

    @get("/", summary="Liveness, the store kind and the log position this process has reached", responses=NOT_LIVE)
    async def health(self, accord: AccordDep) -> Health:
        # Liveness must not depend on the database: an outage would restart every replica.
        # It fails only when the log follower has died, which a restart does cure.
        if not accord.alive:
            raise ServiceUnavailableException(f"the log follower has stopped at position {accord.position}")
        return Health(status="ok", store=accord.store.kind, position=accord.position)
