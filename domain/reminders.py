"""Email reminders: one person's address, its confirmation, their choices, and what was sent.

One stream per person (`Reminders.id_for`). The address arrives here already
sealed with its person's key (service/commands/reminders.py), like an
invitation's handle: the log never holds it in clear, and it is gone with the
person's key when they delete their account. The confirmation token is held
only as a digest, with its expiry.

What was reminded is kept as the inbox item keys (domain/inbox.py) a reminder
was sent for and that still wait: `ReminderSent` is appended before the message
goes out (with a command id derived from the person and those keys), so a
restart or a second process never sends it again; `ReminderFailed` gives the
keys back when the mail server refused it, to be tried again later.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import AlreadyDone, ValidationFailed
from domain.inbox import KIND_NAMES

REMINDERS_NAMESPACE = UUID("8a0f2a4e-5b7e-4d55-9d8e-3f1c2b7a9e61")
#: The longest address accepted (RFC 5321's path limit).
MAX_ADDRESS = 254


def check_address(address: str) -> None:
    local, at, domain = address.partition("@")
    if not at or not local or "." not in domain or len(address) > MAX_ADDRESS:
        raise ValidationFailed("address", "must be an email address like name@example.org")
    if any(c.isspace() or c in "<>,;\"\\" or ord(c) < 32 for c in address):
        raise ValidationFailed("address", "must be one plain address, without spaces or brackets")


def check_kinds(kinds: Iterable[str]) -> None:
    unknown = sorted(set(kinds) - set(KIND_NAMES))
    if unknown:
        raise ValidationFailed("kinds", f"must each be one of {', '.join(KIND_NAMES)}")


class Reminders(Aggregate):
    class Event(Aggregate.Event):
        pass

    class Created(Event, Aggregate.Created):
        person: UUID

        def apply(self, reminders: Reminders) -> None:
            reminders.person = self.person
            reminders.address = ""
            reminders.confirmed = False
            reminders.token_digest = ""
            reminders.token_expires = None
            reminders.kinds = tuple(KIND_NAMES)
            reminders.reminded = frozenset()
            reminders.last_sent = None

    class AddressAdded(Event):
        #: Sealed with the person's key (service/crypto.py `seal_text`).
        address: str
        token_digest: str
        expires_at: datetime

        def apply(self, reminders: Reminders) -> None:
            reminders.address = self.address
            reminders.confirmed = False
            reminders.token_digest = self.token_digest
            reminders.token_expires = self.expires_at

    class AddressConfirmed(Event):
        person: UUID

        def apply(self, reminders: Reminders) -> None:
            reminders.confirmed = True
            reminders.token_digest = ""
            reminders.token_expires = None

    class AddressRemoved(Event):
        def apply(self, reminders: Reminders) -> None:
            reminders.address = ""
            reminders.confirmed = False
            reminders.token_digest = ""
            reminders.token_expires = None

    class KindsChosen(Event):
        kinds: tuple[str, ...]

        def apply(self, reminders: Reminders) -> None:
            reminders.kinds = self.kinds

    class ReminderSent(Event):
        #: The inbox item keys this message reminds of.
        keys: tuple[str, ...]
        #: Every key reminded of that still waits, these included: what is never reminded of again.
        reminded: tuple[str, ...]

        def apply(self, reminders: Reminders) -> None:
            reminders.reminded = frozenset(self.reminded)
            reminders.last_sent = self.timestamp

    class ReminderFailed(Event):
        keys: tuple[str, ...]

        def apply(self, reminders: Reminders) -> None:
            reminders.reminded = reminders.reminded - set(self.keys)
            reminders.last_sent = None

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(REMINDERS_NAMESPACE, str(person))

    @classmethod
    def create(cls, person: UUID, now: datetime) -> Reminders:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person)

    # Commands

    def add_address(self, sealed_address: str, token_digest: str, expires_at: datetime, now: datetime) -> None:
        """A new address (or the same one again, for a fresh link): unconfirmed until its link is followed."""
        self.trigger_event(
            self.AddressAdded, timestamp=now, address=sealed_address, token_digest=token_digest, expires_at=expires_at
        )

    def confirm(self, token_digest: str, now: datetime) -> None:
        self.check_token(token_digest, now)
        self.trigger_event(self.AddressConfirmed, timestamp=now, person=self.person)

    def remove_address(self, now: datetime) -> None:
        if not self.address:
            raise AlreadyDone("removed the address of", self.id, self.person)
        self.trigger_event(self.AddressRemoved, timestamp=now)

    def choose(self, kinds: Iterable[str], now: datetime) -> None:
        chosen = tuple(k for k in KIND_NAMES if k in set(kinds))
        check_kinds(kinds)
        if chosen != self.kinds:
            self.trigger_event(self.KindsChosen, timestamp=now, kinds=chosen)

    def remind(self, keys: Iterable[str], waiting: Iterable[str], now: datetime) -> None:
        """A reminder for `keys`; `waiting`: every key in the person's inbox now (the rest are forgotten)."""
        new = tuple(sorted(set(keys)))
        self.check_reminding(new)
        still = set(waiting)
        reminded = tuple(sorted({k for k in self.reminded if k in still} | set(new)))
        self.trigger_event(self.ReminderSent, timestamp=now, keys=new, reminded=reminded)

    def failed(self, keys: Iterable[str], now: datetime) -> None:
        self.trigger_event(self.ReminderFailed, timestamp=now, keys=tuple(sorted(set(keys))))

    # Invariants

    def check_token(self, token_digest: str, now: datetime) -> None:
        if self.confirmed and not self.token_digest:
            raise AlreadyDone("confirmed the address of", self.id, self.person)
        if (
            not self.token_digest
            or not hmac.compare_digest(self.token_digest, token_digest)
            or self.token_expires is None
            or now > self.token_expires
        ):
            raise ValidationFailed("token", "is not the latest link sent to this address, or has expired")

    def check_reminding(self, keys: tuple[str, ...]) -> None:
        if not self.confirmed:
            raise ValidationFailed("address", "is not confirmed")
        if not keys or any(k in self.reminded for k in keys):
            raise AlreadyDone("reminded", self.id, self.person)
