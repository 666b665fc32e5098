"""In-the-moment signals, and the channels they travel along.

A `SignalBook` is one person's: whom they opened a signal channel to (each
person chooses whom they send to and receive from, one choice per person),
their settings (how long their signals live, read receipts, quiet hours, and
what stays of a signal once it expired), and what stays of their expired
signals. A channel between two people is open only when each opened it to the
other (`domain.policy.channel_open`). Closing is one event in the closer's own
book: nothing is sent to the other, who goes on seeing their own choice.

A `Signal` is its own aggregate, sealed with its own data key (`intimate`):
its kind, note and recipients rest encrypted, and when it expires its key is
destroyed, so the whole stream reads as absent from then on. What stays, as
the sender chose, is appended to the sender's book first (`Expired`): the
kind and time and recipients, or nothing but the signal's id (so the
scheduler does not fire twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate

from domain.cadence import zone
from domain.errors import AlreadyDone, NotFound, ValidationFailed
from domain.people import check_named

#: The kinds of signal, with what each reads as.
KINDS: dict[str, str] = {
    "home_safe": "Home safe",
    "need_space_tonight": "I need space tonight",
    "still_here": "I'm still here",
    "check_in_when_you_can": "Check in with me when you can",
    "after_date_update": "After-date update",
    "okay_talk_tomorrow": "Okay, talk tomorrow",
}
MAX_NOTE = 280
MAX_RECIPIENTS = 20
DEFAULT_EXPIRY_HOURS = 24
MAX_EXPIRY_HOURS = 24 * 14
#: Never change: every person's signal book id is derived from it.
BOOKS_NAMESPACE = UUID("6f1c2a9e-4b7d-4e0a-9d35-8a2c7b1e5f60")


class SignalSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A person's signal settings (GET/PUT /api/signals/settings); a new book has these defaults."""

    expiry_hours: int = DEFAULT_EXPIRY_HOURS
    read_receipts: bool = False
    #: Quiet hours, from and until (0-23) in `time_zone`: reminders wait, signals still arrive.
    quiet_from: int | None = None
    quiet_until: int | None = None
    time_zone: str = "UTC"
    #: What stays of a signal of theirs once it expired.
    keep: str = "kind_and_time"


def check_settings(settings: SignalSettings) -> None:
    if not 1 <= settings.expiry_hours <= MAX_EXPIRY_HOURS:
        raise ValidationFailed("expiry_hours", f"must be from 1 to {MAX_EXPIRY_HOURS}")
    if settings.keep not in ("kind_and_time", "nothing"):
        raise ValidationFailed("keep", "must be kind_and_time or nothing")
    check_quiet_hours(settings.quiet_from, settings.quiet_until)
    zone(settings.time_zone)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationFailed("kind", f"must be one of {', '.join(KINDS)}")


def check_note(note: str | None) -> None:
    if note is not None and len(note) > MAX_NOTE:
        raise ValidationFailed("note", f"must be at most {MAX_NOTE} characters")


def check_recipients(by: UUID, recipients: Sequence[UUID]) -> None:
    check_named("to", by, recipients, MAX_RECIPIENTS, whom="person", oneself="one does not signal oneself")


def check_quiet_hours(start: int | None, end: int | None) -> None:
    if (start is None) != (end is None):
        raise ValidationFailed("quiet_from", "give both quiet_from and quiet_until, or neither")
    for name, hour in (("quiet_from", start), ("quiet_until", end)):
        if hour is not None and not 0 <= hour <= 23:
            raise ValidationFailed(name, "must be an hour from 0 to 23")


def in_quiet_hours(book: SignalBook, now: datetime) -> bool:
    """Whether it is quiet for `book`'s person now, in their time zone; a span may pass midnight (22 to 7)."""
    start, end = book.settings.quiet_from, book.settings.quiet_until
    if start is None or end is None or start == end:
        return False
    hour = now.astimezone(zone(book.settings.time_zone)).hour
    return start <= hour < end if start < end else hour >= start or hour < end


class SignalBook(Aggregate):
    class Event(Aggregate.Event):
        pass

    class Created(Event, Aggregate.Created):
        person: UUID

        def apply(self, book: SignalBook) -> None:
            book.person = self.person
            book.opened = set()
            book.settings = SignalSettings()
            #: What stays of expired signals: signal id -> (kind, sent at, recipients), or None (nothing).
            book.expired = {}

    class ChannelOpened(Event):
        to: UUID

        def apply(self, book: SignalBook) -> None:
            book.opened.add(self.to)

    class ChannelClosed(Event):
        to: UUID

        def apply(self, book: SignalBook) -> None:
            book.opened.discard(self.to)

    class SettingsChanged(Event):
        settings: SignalSettings

        def apply(self, book: SignalBook) -> None:
            book.settings = self.settings

    class Expired(Event):
        """One of this person's signals expired; `kind` is None when they chose that nothing stays."""

        signal_id: UUID
        kind: str | None = None
        sent_at: datetime | None = None
        recipients: tuple[UUID, ...] = ()

        def apply(self, book: SignalBook) -> None:
            book.expired[self.signal_id] = (
                None if self.kind is None else (self.kind, self.sent_at, self.recipients)
            )

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(BOOKS_NAMESPACE, str(person))

    @classmethod
    def create(cls, person: UUID, now: datetime) -> SignalBook:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person)

    def open_channel(self, to: UUID, now: datetime) -> None:
        """Repeating the current choice appends nothing."""
        if to == self.person:
            raise ValidationFailed("person_id", "one does not open a channel to oneself")
        if to not in self.opened:
            self.trigger_event(self.ChannelOpened, timestamp=now, to=to)

    def close_channel(self, to: UUID, now: datetime) -> None:
        if to in self.opened:
            self.trigger_event(self.ChannelClosed, timestamp=now, to=to)

    def change_settings(self, settings: SignalSettings, now: datetime) -> None:
        check_settings(settings)
        self.trigger_event(self.SettingsChanged, timestamp=now, settings=settings)

    def record_expired(self, signal: Signal, now: datetime) -> None:
        """What stays of `signal` once its key is gone, as this person chose when sending it."""
        if signal.by != self.person:
            raise NotFound("signal", signal.id)
        if signal.id in self.expired:
            return
        if signal.keep == "nothing":
            self.record_gone(signal.id, now)
        else:
            self.trigger_event(
                self.Expired,
                timestamp=now,
                signal_id=signal.id,
                kind=signal.kind,
                sent_at=signal.sent_at,
                recipients=signal.recipients,
            )

    def record_gone(self, signal_id: UUID, now: datetime) -> None:
        """A signal of theirs expired of which nothing stays (or nothing could be read any more)."""
        if signal_id not in self.expired:
            self.trigger_event(self.Expired, timestamp=now, signal_id=signal_id)

    def expiry(self) -> timedelta:
        return timedelta(hours=self.settings.expiry_hours)


def default_book(person: UUID, now: datetime) -> SignalBook:
    """A person's book as it stands before their first choice (never appended by itself)."""
    book = SignalBook.create(person, now)
    book.collect_events()
    return book


class Signal(Aggregate):
    class Event(Aggregate.Event):
        #: The kind, note and recipients are sealed with this signal's own key, destroyed when it expires.
        intimate = True

    class Sent(Event, Aggregate.Created):
        by: UUID
        #: Whom the sender addressed (what the sender sees), and who it reached (who sees it).
        addressed: tuple[UUID, ...]
        recipients: tuple[UUID, ...]
        kind: str
        note: str | None
        expires_at: datetime
        keep: str

        def apply(self, signal: Signal) -> None:
            signal.by = self.by
            signal.addressed = self.addressed
            signal.recipients = self.recipients
            signal.kind = self.kind
            signal.note = self.note
            signal.sent_at = self.timestamp
            signal.expires_at = self.expires_at
            signal.keep = self.keep
            signal.seen = {}

    class Seen(Event):
        by: UUID

        def apply(self, signal: Signal) -> None:
            signal.seen[self.by] = self.timestamp

    @classmethod
    def send(
        cls,
        signal_id: UUID,
        by: UUID,
        addressed: Sequence[UUID],
        recipients: Sequence[UUID],
        kind: str,
        note: str | None,
        now: datetime,
        book: SignalBook,
    ) -> Signal:
        """`recipients`: those of `addressed` it may reach (the policy's `may_signal`, asked by the caller)."""
        check_kind(kind)
        check_note(note)
        check_recipients(by, addressed)
        note = note.strip() or None if note is not None else None
        return cls._create(
            cls.Sent,
            id=signal_id,
            timestamp=now,
            by=by,
            addressed=tuple(addressed),
            recipients=tuple(r for r in addressed if r in set(recipients)),
            kind=kind,
            note=note,
            expires_at=now + book.expiry(),
            keep=book.settings.keep,
        )

    def check_recipient(self, person: UUID) -> None:
        if person not in self.recipients:
            raise NotFound("signal", self.id)

    def mark_seen(self, by: UUID, now: datetime) -> None:
        """Seen once, by someone it reached."""
        if by == self.by:
            raise ValidationFailed("signal_id", "only the people a signal reached mark it seen")
        self.check_recipient(by)
        if by in self.seen:
            raise AlreadyDone("seen", self.id, by)
        self.trigger_event(self.Seen, timestamp=now, by=by)

    def has_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
