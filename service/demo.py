"""`accord demo`: a small, realistic network to try Accord with, made through the use cases.

Mina is solo-polyamorous, with two partners, Theo and Sam; Sam also has a
partner, Jules, who is Mina's metamour. Mina and Sam have an agreement in
force, a repair note Sam wrote, and two clauses they share with Jules. Mina and
Theo's agreement has been in force for two months, its check-in clause is due
for review (its revisit date passed), and Theo has proposed a renegotiation. Sam and
Jules have their own agreement; they show Mina that they are partners, and the
clause about meeting her, and nothing else. Mina's Solo Ethic is shared with
Theo and Sam, and Sam's care plan with Mina. Mina has started a second
agreement with Theo from the one-page contract; Theo added a clause on a topic
of his own. Mina and Sam opened a signal channel to each other, and Sam sent
Mina "home safe" last night. Next week is on Mina's calendar: dates and an
overnight with Theo, a climbing date and a call with Sam, and a brunch with both
that waits for Sam's answer. Everyone reads their calendar in Berlin time; Mina
shows Theo and Sam her other time as busy, and Sam shows Jules his, so Jules
sees Sam's time with Mina as busy and nothing more.

Everything is made by calling `Accord`'s use cases on the configured store, as
a person would through the app, so the demo passes the same rules and its
events are ordinary events in the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from uuid import UUID, uuid4

from domain.agreement import ClauseChange
from domain.availability import PartnerShows
from domain.cadence import Cadence, starts_at, zone
from domain.documents import Section
from domain.network import PartnerLink
from domain.signals import SignalSettings
from service.application import Accord
from service.commands.availability import AvailabilityChange
from service.settings import Settings
from service.store import connect
from service.store.base import HandleTaken

PASSWORD = "accord-demo-password"
CLIENT = "accord-demo"


@dataclass(frozen=True)
class Person:
    handle: str
    name: str
    about: str
    id: UUID = UUID(int=0)


PEOPLE = (
    Person("mina", "Mina", "solo-polyamorous; partners with Theo and with Sam; Jules's metamour; next week's plans on her calendar"),
    Person(
        "theo",
        "Theo",
        "Mina's partner; has proposed a renegotiation of their agreement, whose check-in clause is due for review;"
        " a weekly check-in with Mina; a draft with her started from the one-page contract",
    ),
    Person("sam", "Sam", "Mina's partner and Jules's; wrote Mina a repair note"),
    Person("jules", "Jules", "Sam's partner, Mina's metamour; sees two clauses Mina and Sam share, and Sam's time as busy"),
)

#: Mina and Theo's agreement started from the one-page contract, with Theo's clause on a topic of his own.
ONE_PAGE_TITLE = "Our one page"
TRAVEL = "We tell each other about trips a month ahead, and one of us is always reachable while away."

MINA_AND_SAM = {
    "boundaries": "We each keep our own home and our own time. Neither of us asks the other "
    "to give up another relationship.",
    "safer_sex": "Barriers with new partners until we have talked about test results together. "
    "We share results from a test every three months.",
    "scheduling": "One weeknight and one weekend day together each week, planned by Sunday evening.",
    "check_ins": "A check-in on the first Sunday of the month: what is working, what is hard, "
    "what we want more of.",
    "metamour_contact": "We are each happy to meet the other's partners. Nobody has to be friends; "
    "everybody is kind.",
    "privacy": "We don't share details of our intimate life with others without asking first.",
}
SCHEDULING_REVISED = MINA_AND_SAM["scheduling"] + " Changes need a day's notice, except in an emergency."

MINA_AND_THEO = {
    "boundaries": "Overnights with other partners are fine; we tell each other beforehand, not after.",
    "safer_sex": "Barriers with other partners, and a test every three months.",
    "scheduling": "Every other weekend together, Friday evening to Sunday lunch.",
    "check_ins": "A short message on days we don't see each other, with no pressure to reply at length.",
}

BERLIN = "Europe/Berlin"
MINA_ANSWERS = (
    "Our long walk on Sunday, and that you asked about my exams.",
    "I felt rushed on Wednesday; we only had an hour.",
    "A calm evening before my exam on Friday.",
    "Dinner on Thursday, phones away.",
    "",
)
THEO_ANSWERS = (
    "Cooking together on Saturday.",
    "The new job's hours: I cancelled on you once and hated it.",
    "To know early which weekends you're free.",
    "Dinner on Thursday.",
    "The weeknight dinners I proposed for our agreement.",
)
CHECK_IN_PLAN = "Dinner on Thursday with phones away; Theo sends his shifts by Sunday evening."
CHECK_IN_ACTIONS = ("Decide about weeknight dinners in our agreement", "Theo shares his shift plan every Sunday")

SAM_AND_JULES = {
    "boundaries": "No sleepovers on work nights.",
    "safer_sex": "Barriers with new partners until we have talked about test results together.",
    "metamour_contact": "Jules would like to meet Mina; Sam introduces them when both are ready.",
}


async def run(settings: Settings, *, force: bool = False, say: Callable[[str], None] = print) -> int:
    store = connect(settings.database_url, poll_interval=settings.poll_interval)
    accord = Accord(store, settings)
    await accord.start()
    try:
        if await store.max_position() > 0 and not force:
            say(
                f"The event log at {settings.database_url} is not empty, so the demo was not added.\n"
                "Use a fresh database (--database sqlite:///demo.db), or --force to add it anyway."
            )
            return 1
        people = [await _register(accord, person) for person in PEOPLE]
        await fill(accord, *people)
    finally:
        await accord.stop()
    say(instructions(settings, people))
    return 0


async def _register(accord: Accord, person: Person) -> Person:
    """The person's handle, or the first free `handle2`, `handle3`... (with --force on a used store)."""
    for suffix in ["", *map(str, range(2, 100))]:
        handle = f"{person.handle}{suffix}"
        try:
            account = await accord.register(CLIENT, handle, person.name, PASSWORD)
        except HandleTaken:
            continue
        return Person(handle, person.name, person.about, account.person_id)
    raise HandleTaken(person.handle)


async def fill(accord: Accord, mina: Person, theo: Person, sam: Person, jules: Person) -> None:
    # Partners for a while already: since before last week's check-in (see `_check_in`).
    real = accord.clock
    accord.clock = lambda: real() - timedelta(days=10)
    try:
        for a, b in ((mina, theo), (mina, sam), (sam, jules)):
            await accord.network.propose_link(a.id, b.handle, None)
            await accord.network.confirm_link(b.id, PartnerLink.id_for(a.id, b.id), None)
    finally:
        accord.clock = real

    # Mina and Sam: drafted together, in force, a repair note, two clauses shared with Jules.
    ours, clauses = await _agreement(accord, "Mina & Sam", mina, sam, MINA_AND_SAM)
    await accord.agreements.edit_clause(sam.id, ours, clauses["scheduling"], SCHEDULING_REVISED, 1, None)
    await _ratify(accord, ours, mina, sam)
    await accord.agreements.write_repair_note(
        sam.id,
        ours,
        clauses["check_ins"],
        "I cancelled our check-in at the last minute two months in a row.",
        "You felt our relationship came last, and a hard conversation kept being pushed back.",
        "Our check-ins are now fixed in my calendar. If I really can't make one, I'll say so two "
        "days before and offer another date that same week.",
        None,
    )
    shared = await accord.grants.propose_grant(
        mina.id,
        ours,
        jules.handle,
        ["identity", "relationship", "clauses:safer_sex", "clauses:metamour_contact"],
        None,
        True,
        None,
    )
    await accord.grants.consent_to_grant(sam.id, ours, shared.body.grant_id, None)

    # Mina and Theo: agreed two months ago, with a revisit date on the check-in clause a month
    # later; that date has passed, so the clause is due for review. And Theo asks to renegotiate.
    now = accord.clock
    accord.clock = lambda: now() - timedelta(days=60)
    try:
        theirs, clauses = await _agreement(accord, "Mina & Theo", mina, theo, MINA_AND_THEO)
        revisit_on = (now() - timedelta(days=30)).date()
        await accord.agreements.set_revisit_date(mina.id, theirs, clauses["check_ins"], revisit_on, None)
        await _ratify(accord, theirs, mina, theo)
    finally:
        accord.clock = now
    await accord.scheduler.fire_due()
    proposal = uuid4()
    await accord.agreements.propose(
        theo.id,
        theirs,
        [
            ClauseChange(
                "edit",
                clauses["scheduling"],
                text="Every other weekend together, Friday evening to Sunday lunch, "
                "and a weeknight dinner in the weeks between.",
            ),
            ClauseChange("add", uuid4(), topic="other", text="One trip together each year, planned by spring."),
        ],
        "My new job leaves me fewer free weekends, and I miss seeing you in the middle of the week.",
        None,
        proposal,
    )
    await accord.agreements.comment(
        mina.id, theirs, proposal, "I love the weeknight idea. Can we keep it flexible in my exam weeks?", None
    )

    # Sam and Jules: their own agreement. Mina sees only that they are partners, and the
    # clause about meeting her; Jules shows Mina their name.
    theirs_too, _ = await _agreement(accord, "Sam & Jules", sam, jules, SAM_AND_JULES)
    await _ratify(accord, theirs_too, sam, jules)
    await accord.network.set_disclosure(jules.id, mina.id, True, None)
    shown = await accord.grants.propose_grant(
        jules.id, theirs_too, mina.handle, ["identity", "relationship", "clauses:metamour_contact"], None, False, None
    )
    await accord.grants.consent_to_grant(sam.id, theirs_too, shown.body.grant_id, None)

    await _check_in(accord, mina, theo)
    await _documents(accord, mina, theo, sam)
    await _one_page(accord, mina, theo)
    await _signals(accord, mina, sam)
    await _calendar(accord, mina, theo, sam, jules)


#: Mina's week: (day after next Monday, start "HH:MM", hours, kind, title, place, with, every invitee accepts).
WEEK = (
    (0, "19:00", 3, "date", "Dinner at Lupo", "Lupo, Weserstraße 12", ("theo",), True),
    (2, "18:30", 3, "date", "Climbing, then ramen", "Boulderhalle Ost", ("sam",), True),
    (4, "19:00", 15, "overnight", "Overnight at Theo's", None, ("theo",), True),
    (5, "16:00", 1, "call", "Call about the summer trip", None, ("sam",), True),
    (6, "11:00", 2, "other", "Brunch, the three of us", "Café Linde", ("theo", "sam"), False),
)


async def _calendar(accord: Accord, mina: Person, theo: Person, sam: Person, jules: Person) -> None:
    """Next week's plans, proposed by Mina; each partner's view of her other time; Sam's busy time for Jules."""
    people = {"theo": theo, "sam": sam}
    for person in (mina, theo, sam, jules):
        await accord.availabilities.change(person.id, AvailabilityChange(time_zone=BERLIN), None)
    await accord.availabilities.change(
        mina.id, AvailabilityChange(partners=(PartnerShows(person_id=theo.id, shows="busy"), PartnerShows(person_id=sam.id, shows="busy"))), None
    )
    await accord.availabilities.change(sam.id, AvailabilityChange(partners=(PartnerShows(person_id=jules.id, shows="busy"),)), None)
    tz = zone(BERLIN)
    today = accord.clock().astimezone(tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    for day, at, hours, kind, title, place, invitees, accepted in WEEK:
        hour, minute = (int(part) for part in at.split(":"))
        start = datetime.combine(monday + timedelta(days=day), time(hour, minute), tzinfo=tz)
        planned = await accord.plans.propose(
            mina.id, (), [people[i].id for i in invitees], kind, title, place, start, start + timedelta(hours=hours), BERLIN, None
        )
        plan_id = planned.body.plan_id  # type: ignore[attr-defined]
        for invitee in invitees[: None if accepted else 1]:
            await accord.plans.answer(people[invitee].id, plan_id, "accepted", None, None, None)


BERLIN = "Europe/Berlin"


MINA_SOLO_ETHIC = (
    "Solo means I am my own primary partner: I build my life around my own centre, and my partners are "
    "chosen, not folded into one household.",
    "I make my own decisions about my time, my money and my body, and I tell you about the ones that touch you.",
    "My flat is mine. I love having you over; I do not plan to move in with anyone.",
    "I keep a few evenings a week for myself. I plan dates about a week ahead and keep them.",
    "Honesty, reliability, warmth, and room to grow. I will not escalate just because time passes.",
)
SAM_CARE_PLAN = (
    "I go quiet, answer in single words, and want to leave the room.",
    "Sitting near me without asking questions. A glass of water. Time to come back, usually an hour.",
    "Being asked what is wrong over and over, or being told to calm down.",
    "A text, not a call. If I have not answered by the next morning, a call is fine.",
)


async def _documents(accord: Accord, mina: Person, theo: Person, sam: Person) -> None:
    """Mina's Solo Ethic, shared with Theo and Sam; Sam's care plan, shared with Mina."""
    ethic = await accord.documents.write(mina.id, "solo_ethic", [Section("", t) for t in MINA_SOLO_ETHIC], None)
    for partner in (theo, sam):
        await accord.documents.share(mina.id, ethic.body.document_id, None, partner_id=partner.id)
    plan = await accord.documents.write(sam.id, "care_plan", [Section("", t) for t in SAM_CARE_PLAN], None)
    await accord.documents.share(sam.id, plan.body.document_id, None, partner_id=mina.id)


async def _one_page(accord: Accord, mina: Person, theo: Person) -> None:
    """Mina and Theo start again from the one-page contract: its clauses are drafts, and Theo
    adds one on a topic of his own."""
    agreement_id = uuid4()
    contract = accord.library.agreement_template("one_page_contract")
    await accord.agreements.start_from_template(mina.id, contract, ONE_PAGE_TITLE, None, agreement_id)
    await accord.agreements.invite(mina.id, agreement_id, theo.handle, None)
    await accord.agreements.accept_invitation(theo.id, agreement_id, None)
    await accord.agreements.add_clause(theo.id, agreement_id, "travel", TRAVEL, None, uuid4())


async def _signals(accord: Accord, mina: Person, sam: Person) -> None:
    """Mina and Sam's signal channel, and the "home safe" Sam sent at 23:40 last night (Berlin).

    Sam keeps his signals for three days rather than one, so the signal still shows for
    two days at least after `accord demo`, whatever the hour it runs at."""
    real = accord.clock
    today = real().astimezone(zone(BERLIN)).date()
    last_night = datetime.combine(today - timedelta(days=1), time(23, 40), zone(BERLIN))
    try:
        accord.clock = lambda: last_night - timedelta(hours=6)
        await accord.signals.open_channel(mina.id, sam.id, None)
        await accord.signals.open_channel(sam.id, mina.id, None)
        keep_three_days = SignalSettings(expiry_hours=72, read_receipts=True, time_zone=BERLIN)
        await accord.signals.change_settings(sam.id, keep_three_days, None)
        accord.clock = lambda: last_night
        await accord.signals.send(sam.id, [mina.id], "home_safe", "Got the last train. Thank you for tonight.", None)
    finally:
        accord.clock = real


async def _check_in(accord: Accord, mina: Person, theo: Person) -> None:
    """Mina and Theo's weekly check-in: last week's, prepared, shared and closed with a plan
    (made with the clock set back to then), and tomorrow's, open for preparation."""
    real = accord.clock
    today = real().astimezone(zone(BERLIN)).date()
    # Tomorrow's weekday, so one happened six days ago and the next is tomorrow evening.
    last_week = today - timedelta(days=6)
    cadence = Cadence(kind="weekly", weekday=last_week.weekday(), at="19:00", time_zone=BERLIN, starts_on=last_week)
    then = starts_at(cadence, 0)
    try:
        accord.clock = lambda: then - timedelta(days=2)
        started = await accord.check_ins.start(mina.id, cadence, None, None, partner_id=theo.id)
        check_in_id = started.body.check_in_id
        for who, answers in ((mina, MINA_ANSWERS), (theo, THEO_ANSWERS)):
            await accord.check_ins.prepare(who.id, check_in_id, 0, answers, None)
            await accord.check_ins.share(who.id, check_in_id, 0, None)
        accord.clock = lambda: then + timedelta(hours=1)
        await accord.check_ins.close(theo.id, check_in_id, 0, CHECK_IN_PLAN, CHECK_IN_ACTIONS, None)
    finally:
        accord.clock = real
    await accord.check_ins.prepare(mina.id, check_in_id, 1, ("Sunday's breakfast", "", "", "", ""), None)


async def _agreement(
    accord: Accord, title: str, creator: Person, partner: Person, texts: dict[str, str]
) -> tuple[UUID, dict[str, UUID]]:
    agreement_id = uuid4()
    await accord.agreements.create_agreement(creator.id, title, None, agreement_id)
    await accord.agreements.invite(creator.id, agreement_id, partner.handle, None)
    await accord.agreements.accept_invitation(partner.id, agreement_id, None)
    clauses = {}
    for index, (topic, text) in enumerate(texts.items()):
        author = creator if index % 2 == 0 else partner
        clauses[topic] = uuid4()
        await accord.agreements.add_clause(author.id, agreement_id, topic, text, None, clauses[topic])
    return agreement_id, clauses


async def _ratify(accord: Accord, agreement_id: UUID, *parties: Person) -> None:
    view = await accord.queries.view_agreement(parties[0].id, agreement_id)
    for party in parties:
        await accord.agreements.consent(party.id, agreement_id, view.version, None)  # type: ignore[union-attr]


def instructions(settings: Settings, people: list[Person]) -> str:
    width = max(len(p.handle) for p in people)
    rows = "\n".join(f"  {p.handle:<{width}}  {p.name:<6} {p.about}" for p in people)
    database = f" --database {settings.database_url}" if settings.database_url != Settings().database_url else ""
    return (
        f"The demo network is in {settings.database_url}.\n\n"
        f"Start Accord:  accord serve{database}\n"
        f"Then open http://{settings.host}:{settings.port}/ and sign in as any of them,\n"
        f"each with the password  {PASSWORD}\n\n"
        f"{rows}\n\n"
        "Try two browsers (or a private window) side by side: what one person changes\n"
        "appears on the other's open page."
    )
