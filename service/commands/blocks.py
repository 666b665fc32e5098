"""Use cases of blocking: block someone (by handle, or from their page), unblock.

A handle is resolved as for anything else addressed by handle (`person_for`),
so blocking a handle without an account is accepted alike and tells the
blocker nothing either. What the blocker sees of their list is the one view
function's (`Visibility.my_blocks`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from domain.blocks import Blocks
from domain.errors import ValidationFailed
from service.commands.runner import CommandKey, CommandRunner, Outcome
from service.visibility import BlockView, Visibility


class Blocking:
    def __init__(
        self,
        commands: CommandRunner,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settle: Callable[[Outcome], Awaitable[Outcome]],
        person_for: Callable[[str], Awaitable[UUID]],
    ) -> None:
        self.commands = commands
        self.visibility = visibility
        self.clock = clock
        self.settle = settle
        self.person_for = person_for

    async def block(
        self, caller: UUID, handle: str | None, person: UUID | None, key: CommandKey | None
    ) -> Outcome:
        """Block the person `handle` names, or `person` (from their page); exactly one is given."""
        if (handle is None) == (person is None):
            raise ValidationFailed("handle", "give either a handle or a person_id")
        blocked = person if handle is None else await self.person_for(handle)
        assert blocked is not None
        typed = "" if handle is None else handle.casefold()
        made: list[UUID] = []

        def decide(blocks: Blocks | None) -> Blocks:
            if blocks is None:
                blocks = Blocks.create(caller, self.clock())
            made[:] = [blocks.block(blocked, typed, self.clock())]
            return blocks

        async def render(blocks: Blocks) -> BlockView:
            return next(b for b in await self._views(caller, blocks) if b.block_id == made[0])

        outcome = await self.commands.run(Blocks, Blocks.id_for(caller), decide, render, key=key, may_create=True)
        return await self.settle(outcome)

    async def unblock(self, caller: UUID, block_id: UUID, key: CommandKey | None) -> Outcome:
        """Unblock; what was sent meanwhile stays where it went (nowhere)."""

        def decide(blocks: Blocks | None) -> Blocks:
            if blocks is None:
                Blocks.create(caller, self.clock()).check_has_block(block_id)
            assert blocks is not None
            blocks.unblock(block_id, self.clock())
            return blocks

        async def render(blocks: Blocks) -> list[BlockView]:
            return await self._views(caller, blocks)

        outcome = await self.commands.run(Blocks, Blocks.id_for(caller), decide, render, key=key, may_create=True)
        return await self.settle(outcome)

    async def _views(self, caller: UUID, blocks: Blocks) -> list[BlockView]:
        return await self.visibility.block_views(caller, blocks)
