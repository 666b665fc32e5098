"""A real SMTP server for tests (aiosmtpd, in a thread of the test process), and what it received."""

from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content)  # type: ignore[attr-defined]
        with self.box.lock:
            self.box.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[attr-defined]
            self.box.arrived.notify_all()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp+plain://127.0.0.1:{self.port}"

    def start(self) -> Mailbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for rcpt, m in self.messages if address in rcpt]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[Message]:
        """Until `address` has received `count` messages (more would be a failure for the caller to judge)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            ok = self.arrived.wait_for(
                lambda: len([1 for rcpt, _ in self.messages if address in rcpt]) >= count,
                timeout=max(0.0, deadline - time.monotonic()),
            )
        assert ok, f"{address} received {len(self.to(address))} messages, wanted {count}"
        return self.to(address)


def body(message: Message) -> str:
    part = message.get_payload(decode=True)
    assert isinstance(part, bytes)
    return part.decode()


def confirm_token(message: Message) -> str:
    found = re.search(r"/account/email/confirm\?token=([A-Za-z0-9_-]+)", body(message))
    assert found, body(message)
    return found.group(1)


_shared: Mailbox | None = None
_shared_lock = threading.Lock()


def shared() -> Mailbox:
    """One server for the whole test run, started when first asked for."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Mailbox().start()
        return _shared


