"""Sending email: the standard library's smtplib, off the event loop.

`ACCORD_SMTP_URL` says where (service/settings.py); without it email is off
and `Mailer.enabled` is False. What a message says is fixed here and names no
one and nothing: "Something is waiting for you in Accord" and a link. An
address is never logged; a failure is logged by its kind only.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

REMINDER_SUBJECT = "Something is waiting for you in Accord"
CONFIRM_SUBJECT = "Confirm your address for Accord reminders"
#: Seconds one connection to the mail server may take.
TIMEOUT = 20.0


class MailFailed(Exception):
    """The mail server could not be reached or refused the message."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: str
    """`tls` (smtps), `starttls` (when offered) or `none`."""
    user: str
    password: str


def parse_smtp_url(url: str) -> Server | None:
    if not url:
        return None
    parts = urlsplit(url)
    tls = {"smtps": "tls", "smtp": "starttls", "smtp+plain": "none"}.get(parts.scheme)
    if tls is None or not parts.hostname:
        raise ValueError("ACCORD_SMTP_URL must look like smtp://user:password@host:port (or smtps://, smtp+plain://)")
    port = parts.port or (465 if tls == "tls" else 587 if tls == "starttls" else 25)
    return Server(parts.hostname, port, tls, unquote(parts.username or ""), unquote(parts.password or ""))


def reminder_text(base_url: str) -> str:
    return (
        "Something is waiting for you in Accord.\n\n"
        f"Open your inbox: {base_url}/inbox\n\n"
        "You get this because you asked Accord to remind you. "
        f"To change what you are reminded of, or to stop: {base_url}/account/email\n"
    )


def confirm_text(base_url: str, token: str) -> str:
    return (
        "Someone asked Accord to send reminders to this address.\n\n"
        f"To confirm it, sign in and open: {base_url}/account/email/confirm?token={token}\n\n"
        "If it was not you, ignore this message: nothing is sent until the address is confirmed.\n"
    )


class Mailer:
    def __init__(self, smtp_url: str, sender: str) -> None:
        self.server = parse_smtp_url(smtp_url)
        self.sender = sender
        #: Messages handed to the mail server by this process (a metric).
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return self.server is not None

    async def send(self, to: str, subject: str, text: str) -> None:
        """Hand one message to the mail server; MailFailed if it cannot be."""
        if self.server is None:
            raise MailFailed("email is off")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or "accord")
        message.set_content(text)
        try:
            await asyncio.to_thread(self._deliver, self.server, message)
        except (OSError, smtplib.SMTPException) as error:
            # Never the address, never the text: only what kind of failure.
            log.warning("email not sent: %s", type(error).__name__)
            raise MailFailed(type(error).__name__) from None
        self.sent += 1

    def _deliver(self, server: Server, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if server.tls == "tls":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        with smtp:
            smtp.ehlo()
            if server.tls == "starttls" and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.user:
                smtp.login(server.user, server.password)
            smtp.send_message(message)
