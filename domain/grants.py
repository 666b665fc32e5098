"""Sharing grants: every party's consent that one metamour may see named scopes of an agreement.

The grant records who consented and when; whether it is active, and whether
it holds, is `domain.policy`'s to say (`grant_is_active`, `grant_standing`),
asked with the agreement's *current* parties, so a person who joins the
agreement later must consent too before anything is shown again. Revocation by
any party is immediate and final.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.agreement import TOPICS, is_topic
from domain.errors import (
    AlreadyDone,
    GrantLapsed,
    GrantNotDue,
    GrantRevoked,
    NotAParty,
    ValidationFailed,
)

IDENTITY = "identity"
RELATIONSHIP = "relationship"
HISTORY = "history"
#: The events layer: the parties' plans on the audience's calendar, in full, or only as busy time.
EVENTS = "events"
EVENTS_BUSY = "events:busy"
CLAUSES = "clauses:"
SCOPES = (IDENTITY, RELATIONSHIP, HISTORY, EVENTS, EVENTS_BUSY, *(CLAUSES + topic for topic in TOPICS))


def clauses_scope(topic: str) -> str:
    return CLAUSES + topic


def is_scope(scope: str) -> bool:
    """A built-in scope, or `clauses:<topic>` for a topic the parties named themselves."""
    return scope in SCOPES or (scope.startswith(CLAUSES) and is_topic(scope.removeprefix(CLAUSES)))


def check_scopes(scopes: Sequence[str]) -> None:
    if not scopes:
        raise ValidationFailed("scopes", "must name at least one scope")
    for scope in scopes:
        if not is_scope(scope):
            raise ValidationFailed(
                "scopes", f"{scope!r} is not one of {', '.join(SCOPES)}, nor clauses:<a topic of your own>"
            )
    if len(set(scopes)) != len(scopes):
        raise ValidationFailed("scopes", "must name each scope once")


class SharingGrant(Aggregate):
    class Event(Aggregate.Event):
        #: Its text is intimate: encrypted at rest with this grant's data key.
        intimate = True

    class Proposed(Event, Aggregate.Created):
        agreement_id: UUID
        proposer: UUID
        audience: UUID
        scopes: tuple[str, ...]
        until: datetime | None
        no_reshare: bool
        #: How the proposer addressed the audience; shown to the parties.
        handle: str

        def apply(self, grant: SharingGrant) -> None:
            grant.agreement_id = self.agreement_id
            grant.audience = self.audience
            grant.handle = self.handle
            grant.scopes = self.scopes
            grant.until = self.until
            grant.no_reshare = self.no_reshare
            # Proposing is the proposer's consent.
            grant.consents = {self.proposer: self.timestamp}
            grant.revoked_by = None
            grant.revoked_at = None
            grant.lapsed = False

    class Consented(Event):
        by: UUID

        def apply(self, grant: SharingGrant) -> None:
            grant.consents[self.by] = self.timestamp

    class Revoked(Event):
        by: UUID

        def apply(self, grant: SharingGrant) -> None:
            grant.revoked_by = self.by
            grant.revoked_at = self.timestamp

    class Lapsed(Event):
        """Its end date passed. Policy already treats it as over then; this event
        marks the moment in the log, so every open view of it is withdrawn."""

        def apply(self, grant: SharingGrant) -> None:
            grant.lapsed = True

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_lapsed(self, now: datetime) -> bool:
        return self.until is not None and now >= self.until

    # Commands: `parties` are the agreement's parties now, as the application read them.

    @classmethod
    def propose(
        cls,
        grant_id: UUID,
        agreement_id: UUID,
        proposer: UUID,
        parties: Collection[UUID],
        audience: UUID,
        scopes: Sequence[str],
        until: datetime | None,
        no_reshare: bool,
        now: datetime,
        handle: str = "",
    ) -> SharingGrant:
        if proposer not in parties:
            raise NotAParty(agreement_id, proposer)
        if audience in parties:
            raise ValidationFailed("audience", "a party already sees the whole agreement")
        check_scopes(scopes)
        check_until(until, now)
        return cls._create(
            cls.Proposed,
            id=grant_id,
            timestamp=now,
            agreement_id=agreement_id,
            proposer=proposer,
            audience=audience,
            scopes=tuple(scopes),
            until=until,
            no_reshare=no_reshare,
            handle=handle,
        )

    def consent(self, by: UUID, parties: Collection[UUID], now: datetime) -> None:
        self.check_is_party(by, parties)
        self.check_not_revoked()
        self.check_not_lapsed(now)
        if by in self.consents:
            raise AlreadyDone("consented to", self.id, by)
        self.trigger_event(self.Consented, timestamp=now, by=by)

    def revoke(self, by: UUID, parties: Collection[UUID], now: datetime) -> None:
        # A lapsed grant may still be revoked: it makes the end explicit and final.
        self.check_is_party(by, parties)
        self.check_not_revoked()
        self.trigger_event(self.Revoked, timestamp=now, by=by)

    def lapse(self, now: datetime) -> None:
        if self.lapsed or self.is_revoked or not self.has_lapsed(now):
            raise GrantNotDue(self.id)
        self.trigger_event(self.Lapsed, timestamp=now)

    def is_due_to_lapse(self, now: datetime) -> bool:
        return not self.lapsed and not self.is_revoked and self.has_lapsed(now)

    # Invariants

    def check_is_party(self, person: UUID, parties: Collection[UUID]) -> None:
        if person not in parties:
            raise NotAParty(self.agreement_id, person)

    def check_not_revoked(self) -> None:
        if self.is_revoked:
            raise GrantRevoked(self.id)

    def check_not_lapsed(self, now: datetime) -> None:
        if self.until is not None and self.has_lapsed(now):
            raise GrantLapsed(self.id, self.until)


def check_until(until: datetime | None, now: datetime) -> None:
    if until is None:
        return
    if until.tzinfo is None:
        raise ValidationFailed("until", "must carry a time zone")
    if until <= now:
        raise ValidationFailed("until", "must be in the future")
