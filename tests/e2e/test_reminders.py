"""Email reminders end to end: real `accord serve` processes, a real SMTP server (aiosmtpd).

A person confirms an address by the link they were sent, and is reminded of
what waits for them: the message names no one and nothing (no name, no handle,
no title, no clause text), only that something waits, and links to the inbox.
Each reminder is sent once, across a restart and with two processes on one log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from service.mail import CONFIRM_SUBJECT, REMINDER_SUBJECT
from tests import mailbox
from tests.e2e.conftest import Api, Server, Servers
from tests.servers import Person

BASE = "https://accord.test"


@pytest.fixture
def box() -> Iterator[mailbox.Mailbox]:
    started = mailbox.Mailbox().start()
    yield started
    started.stop()


def reminding(box: mailbox.Mailbox, **more: str) -> dict[str, str]:
    """Settings that remind at once: no delay, no interval, a scan five times a second."""
    return {
        "ACCORD_SMTP_URL": box.url,
        "ACCORD_BASE_URL": BASE,
        "ACCORD_REMINDER_DELAY_SECONDS": "0",
        "ACCORD_REMINDER_INTERVAL_SECONDS": "0",
        "ACCORD_REMINDER_SCAN_SECONDS": "0.2",
        **more,
    }


async def opt_in(api: Api, box: mailbox.Mailbox, who: Person) -> str:
    address = f"{who.handle}@example.org"
    await api.call("PUT", "/api/me/email", who, 200, json={"address": address})
    [confirmation] = box.wait_for(address)
    assert confirmation["Subject"] == CONFIRM_SUBJECT
    token = mailbox.confirm_token(confirmation)
    assert mailbox.body(confirmation).count(f"{BASE}/account/email/confirm?token={token}") == 1
    assert (await api.call("POST", "/api/me/email/confirm", who, 200, json={"token": token}))["confirmed"]
    return address


def reminders(box: mailbox.Mailbox, address: str) -> list[mailbox.Message]:
    return [m for m in box.to(address) if m["Subject"] == REMINDER_SUBJECT]


async def wait_reminders(box: mailbox.Mailbox, address: str, count: int) -> list[mailbox.Message]:
    # The confirmation came first: `count` reminders are `count + 1` messages.
    await asyncio.to_thread(box.wait_for, address, count + 1)
    return reminders(box, address)


def says_nothing(message: mailbox.Message, *secrets: str) -> None:
    text = f"{message['Subject']}\n{message['From']}\n{mailbox.body(message)}"
    for secret in secrets:
        assert secret.casefold() not in text.casefold(), secret
    assert message["Subject"] == "Something is waiting for you in Accord"
    assert f"{BASE}/inbox" in mailbox.body(message)


async def invitation(api: Api, inviter: Person, invitee: Person, title: str) -> str:
    agreement_id = (await api.create(inviter, title))["agreement_id"]
    await api.invite(inviter, agreement_id, invitee.handle)
    return str(agreement_id)


async def test_a_reminder_names_nothing_and_is_sent_once_across_a_restart(
    servers: Servers, fresh_database: str, box: mailbox.Mailbox
) -> None:
    server = servers.start(fresh_database, **reminding(box))
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        ana, ben = await api.person("anastasia"), await api.person("benedikt")
        address = await opt_in(api, box, ben)
        title = "Weekends at the lake house"
        agreement_id = await invitation(api, ana, ben, title)
        [first] = await wait_reminders(box, address, 1)
        says_nothing(first, ana.name, ana.handle, ben.name, ben.handle, title, agreement_id)

        # Ben joins; a clause waits for his consent: one more reminder, naming nothing either.
        await api.accept_invitation(ben, agreement_id)
        clause = "We swim only where the lifeguard can see us"
        await api.add_clause(ana, agreement_id, "safer_sex", clause)
        [_, second] = await wait_reminders(box, address, 2)
        says_nothing(second, ana.name, ben.name, title, clause)

    # Killed and started again: what was reminded of is in the log, so nothing is sent twice.
    await server.restart_after_kill()
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        await invitation(api, ana, ben, "Another one")
        # The new invitation's reminder arrives; had anything been sent again, it would have come first.
        assert len(await wait_reminders(box, address, 3)) == 3
        inbox = await api.call("GET", "/api/me/inbox", ben, 200)
        assert sorted(i["kind"] for i in inbox["items"]) == ["consent", "invitation"]


async def test_nothing_is_sent_for_what_is_answered_before_the_delay_or_not_chosen(
    servers: Servers, fresh_database: str, box: mailbox.Mailbox
) -> None:
    server = servers.start(fresh_database, **reminding(box, ACCORD_REMINDER_DELAY_SECONDS="3600"))
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        ana, ben = await api.person("ana"), await api.person("ben")
        address = await opt_in(api, box, ben)
        await invitation(api, ana, ben, "Soon answered")
        # Proven by order: the next confirmation link (asked for after) arrives with no reminder before it.
        await api.call("PUT", "/api/me/email", ben, 200, json={"address": address})
        await asyncio.to_thread(box.wait_for, address, 2)
        assert reminders(box, address) == []


@pytest.mark.postgres
async def test_two_processes_send_each_reminder_once(
    servers: Servers, new_pg_database: Callable[[], str], box: mailbox.Mailbox
) -> None:
    url = new_pg_database()
    first, second = servers.start(url, **reminding(box)), servers.start(url, **reminding(box))
    async with httpx.AsyncClient(base_url=first.url, timeout=15) as on_first, httpx.AsyncClient(
        base_url=second.url, timeout=15
    ) as on_second:
        api, other = Api(on_first), Api(on_second)
        ana, ben = await api.person("ana"), await api.person("ben")
        address = await opt_in(api, box, ben)
        await invitation(other, ana, ben, "Through the second")
        await wait_reminders(box, address, 1)
        await invitation(api, ana, ben, "Through the first")
        await wait_reminders(box, address, 2)

        # The first process (the leader, started first) is killed: the second leads and sends, once.
        first.kill()
        await invitation(other, ana, ben, "After the leader went")
        assert len(await wait_reminders(box, address, 3)) == 3
        await asyncio.to_thread(first.start)
        await invitation(api, ana, ben, "Both running again")
        assert len(await wait_reminders(box, address, 4)) == 4
        assert re.search(r"/inbox\b", mailbox.body(reminders(box, address)[-1]))
