"""Blocks: one person's private list of people who may no longer reach them.

One event stream per person, whatever they block and unblock over the years;
only they ever see it (`domain.policy.may_reach` is the one place it is
read for anyone else, and it answers only yes or no). A blocked person is
never told: what they send the blocker is answered exactly as for a handle
without an account (service/commands/network.py `person_for`).

A block does not end anything: a live link stays live until one of the two
ends it, which is a separate, visible act. Unblocking restores nothing: what
was sent during the block went nowhere and stays there.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import NotFound, ValidationFailed

#: Never change: every stored block list and block id is derived from it.
BLOCKS_NAMESPACE = UUID("b7a4e2c1-3d5f-4a8b-9e61-0f2c7d9a4b53")


class Block(msgspec.Struct, frozen=True, kw_only=True):
    """One blocked person, as the blocker chose them."""

    block_id: UUID
    person: UUID
    #: The handle the blocker typed, or "" when they blocked from a person's page.
    handle: str
    since: datetime


class Blocks(Aggregate):
    class Event(Aggregate.Event):
        #: Whom a person blocks is nobody else's business: sealed at rest with this list's data key.
        intimate = True

    class Created(Event, Aggregate.Created):
        person: UUID

        def apply(self, blocks: Blocks) -> None:
            blocks.person = self.person
            blocks.entries = {}

    class PersonBlocked(Event):
        block_id: UUID
        blocked: UUID
        handle: str

        def apply(self, blocks: Blocks) -> None:
            blocks.entries[self.block_id] = Block(
                block_id=self.block_id, person=self.blocked, handle=self.handle, since=self.timestamp
            )

    class PersonUnblocked(Event):
        block_id: UUID

        def apply(self, blocks: Blocks) -> None:
            del blocks.entries[self.block_id]

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(BLOCKS_NAMESPACE, f"list:{person}")

    @staticmethod
    def block_id_for(blocker: UUID, blocked: UUID, handle: str) -> UUID:
        """Opaque to the blocker: it shows neither the blocked person's id nor whether they have an account.

        A block by handle and one from the person's page are two blocks, even of the same person:
        were they one, blocking both ways would tell the blocker which person a handle belongs to."""
        return uuid5(BLOCKS_NAMESPACE, f"block:{blocker}:{blocked}:{handle}")

    @property
    def blocked(self) -> frozenset[UUID]:
        return frozenset(block.person for block in self.entries.values())

    def listed(self) -> list[Block]:
        """Oldest first."""
        return sorted(self.entries.values(), key=lambda b: (b.since, str(b.block_id)))

    # Commands

    @classmethod
    def create(cls, person: UUID, now: datetime) -> Blocks:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person)

    def block(self, blocked: UUID, handle: str, now: datetime) -> UUID:
        """Block `blocked`; blocking someone again the same way appends nothing and answers the same block."""
        self.check_not_self(blocked, "handle" if handle else "person")
        block_id = self.block_id_for(self.person, blocked, handle)
        if block_id not in self.entries:
            self.trigger_event(self.PersonBlocked, timestamp=now, block_id=block_id, blocked=blocked, handle=handle)
        return block_id

    def unblock(self, block_id: UUID, now: datetime) -> None:
        self.check_has_block(block_id)
        self.trigger_event(self.PersonUnblocked, timestamp=now, block_id=block_id)

    # Invariants

    def check_not_self(self, blocked: UUID, field: str) -> None:
        if blocked == self.person:
            raise ValidationFailed(field, "one cannot block oneself")

    def check_has_block(self, block_id: UUID) -> None:
        if block_id not in self.entries:
            raise NotFound("block", block_id)
