"""My blocks: block someone, unblock, and my list, which nobody else ever sees."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import BlockPerson
from service.visibility import BlockView


class BlockController(Controller):
    path = "/api/me/blocks"
    tags = ["blocks"]
    dependencies = {**CALLER, **KEY}

    @get("/", summary="The people I blocked (only I ever see this list)", responses=READ)
    async def blocks(self, accord: AccordDep, caller: Caller) -> list[BlockView]:
        return await accord.visibility.my_blocks(caller)

    @post(
        "/",
        summary="Block someone by handle (answered alike whether or not it has an account) or by person id",
        status_code=201,
        responses=COMMAND,
    )
    async def block(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[BlockPerson]
    ) -> Response[BlockView]:
        return respond(await accord.blocking.block(caller, data.handle, data.person_id, key))

    @delete(
        "/{block_id:uuid}",
        summary="Unblock; nothing sent meanwhile is restored",
        status_code=200,
        responses=COMMAND,
    )
    async def unblock(
        self, accord: AccordDep, caller: Caller, key: Key, block_id: FromPath[UUID]
    ) -> Response[list[BlockView]]:
        return respond(await accord.blocking.unblock(caller, block_id, key))
