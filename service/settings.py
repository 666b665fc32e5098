"""One frozen Settings object, read from the environment by create_app's caller."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///accord.db"
    """Where the event log lives: `sqlite:///file.db` (embedded default) or `postgresql://...`."""

    host: str = "127.0.0.1"
    """Interface `accord serve` binds to."""

    port: int = 8000
    """Port `accord serve` listens on."""

    token_ttl_seconds: int = 30 * 24 * 3600
    """How long a sign-in token lasts."""

    password_hashing: str = "default"
    """argon2 parameters: `default` (RFC 9106 low-memory) or `cheapest` (tests only)."""

    poll_interval: float = 1.0
    """Seconds between the log follower's fallback polls."""

    secret: str = ""
    """Server secret for derived identifiers (pseudonyms); if empty, one is made and kept in the database."""

    max_body_bytes: int = 64 * 1024
    """Largest request body accepted."""

    auth_rate_per_minute: int = 20
    """Registration and sign-in attempts allowed per client address per minute."""

    ready_lag: int = 1000
    """Readiness fails while this process's follower trails the log by more positions than this."""

    command_rate_per_minute: int = 600
    """Mutating requests allowed per account per minute, in each process."""

    replica_database_url: str = ""
    """A PostgreSQL streaming replica of `database_url` for the reads views make (documents, streams); each waits until the replica has replayed the position it needs. Empty: read the primary."""

    cache_size: int = 20000
    """Entries in each of this process's read caches (aggregates, index documents, names), and ten times the event streams its commands keep (a command starts from its process's copy of the stream, read again only when the log has moved on): what bounds its memory."""

    live_retain: int = 1000
    """People without an open socket whose live history this process keeps, so they may resume with `since`."""

    master_key: str = field(default="", repr=False)
    """The master key that wraps every data key (32 bytes, URL-safe base64; `accord new-master-key` makes one). Never stored in the database. Required on PostgreSQL (or `master_key_file`); the embedded default makes `<database>.key` beside its file."""

    master_key_file: str = ""
    """A file holding the master key (a mounted secret), instead of `master_key`."""

    previous_master_keys: str = field(default="", repr=False)
    """Earlier master keys, comma-separated, during a rotation: they still unwrap the keys `accord rotate-master-key` has not rewrapped yet."""

    passkey_rp_id: str = ""
    """The WebAuthn relying party id passkeys are made for: the site's domain (e.g. `accord.example`). Empty: the host name each request was made to, right for one site served under one name."""

    passkey_origin: str = ""
    """The exact origin the pages run on (e.g. `https://accord.example`), which passkey answers must come from. Empty: the request's own scheme and host (behind a proxy that rewrites them, set it)."""

    passkey_rp_name: str = "Accord"
    """The name a browser shows when it asks to make or use a passkey."""

    passkey_challenge_seconds: int = 300
    """How long a passkey challenge (registration, sign-in, second factor) may be answered; each is good once."""

    smtp_url: str = field(default="", repr=False)
    """The mail server email reminders go through: `smtp://user:password@host:587` (STARTTLS when the server offers it), `smtps://...` (TLS from the start) or `smtp+plain://...` (never encrypted; a local relay or tests). Empty: email is off, and the app says so."""

    mail_from: str = "accord@localhost"
    """The From address of reminder and confirmation emails."""

    base_url: str = ""
    """The address people open Accord at (e.g. `https://accord.example`), for the links in emails. Empty: `http://<host>:<port>`."""

    reminder_delay_seconds: int = 900
    """How long something waits in a person's inbox before an email may remind them of it: what is answered sooner sends nothing."""

    reminder_interval_seconds: int = 6 * 3600
    """The least time between two reminders to one person; what falls due meanwhile waits for the next one."""

    reminder_scan_seconds: float = 60.0
    """How often the scheduler looks for reminders that are due."""

    email_confirm_seconds: int = 48 * 3600
    """How long the link that confirms an email address stays good."""

    signals_per_sender_per_hour: int = 60
    """Signals one person may send per hour, in each process (`429` beyond)."""

    signals_per_recipient_per_hour: int = 120
    """Signals that may reach one person per hour, in each process; beyond, a signal is dropped for them, and its sender is answered as if it went."""

    link_proposals_per_sender_per_hour: int = 30
    """Partner-link proposals one person may make in a sliding hour, in each process, whatever the handles; more are refused with 429 (`link_proposals_per_sender`)."""

    link_proposals_per_recipient_per_hour: int = 10
    """Partner-link proposals one person may receive in a sliding hour, in each process. More are answered to their senders as usual, but never reach the recipient: they go where a proposal to a handle without an account goes."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `ACCORD_*` variables, then explicit overrides (None ignored)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(f"ACCORD_{field.name.upper()}")
            if raw is not None and raw != "":
                values[field.name] = type(getattr(cls(), field.name))(raw)
        settings = cls(**values)  # type: ignore[arg-type]
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
