"""What a new user found on the pages (issue 11, section 4), each checked in Chromium against a real server.

An invitation that named nobody; a reload after a refused edit that showed raw
JSON; "someone" for a partner whose name was on the page; consent offered to an
empty draft; a diff that ran words together; a 404 without the navigation; the
live notice over the footer; and no controls for name disclosure or for linking
a repair note to the renegotiation it led to.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

from domain.network import PartnerLink
from tests.browser.conftest import (
    Api,
    Person,
    Server,
    expect,
    open_live,
    screenshot,
    sign_in,
)

LUNCH = "We have lunch."


def invite(api: Api, agreement_id: str, by: Person, who: Person) -> None:
    api.call("POST", f"/api/agreements/{agreement_id}/invitations", by, 202, json={"handle": who.handle})


def clause(page: Any, clause_id: str) -> Any:
    return page.locator(f"#clause-{clause_id}")


# 1. An invitation says who invited you and who is in it


def test_an_invitation_says_who_invited_you_and_who_is_in_it(browser: Any, server: Server, api: Api) -> None:
    ana, ben, cleo, dee = api.person("Ana"), api.person("Ben"), api.person("Cleo"), api.person("Dee")
    api.link(ana, cleo)
    agreement_id, _ = api.agreement(ana, ben, "Our Sundays", [("scheduling", "Sundays are ours.")])
    invite(api, agreement_id, ana, dee)
    api.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", dee, 200)
    invite(api, agreement_id, ben, cleo)

    page = sign_in(browser, server, cleo)
    expect(page.locator(".invitation")).to_contain_text("Our Sundays Ben invited you")
    page.get_by_role("link", name="Our Sundays").click()
    expect(page.locator("h1")).to_have_text("You are invited to “Our Sundays”")
    expect(page.locator(".invited-by")).to_have_text("Ben invited you.")
    parties = page.locator(".invitation-parties li")
    expect(parties).to_have_count(3)
    expect(parties.first).to_have_text("Ben (invited you)")
    expect(parties.filter(has_text="Ana")).to_have_count(1)
    expect(page.locator(".invitation-parties")).to_contain_text(re.compile(r"Someone \([0-9A-F]{4}\)"))
    assert "Dee" not in page.locator("main").inner_text(), "Dee has not shown Cleo her name"
    screenshot(page, "invitation")

    page.get_by_role("button", name="Join the agreement").click()
    expect(page.locator("#people")).to_contain_text("Dee")


# 2. A reload after a refused edit shows the agreement, the conflict explained


def test_a_refused_edit_reloaded_shows_the_agreement_with_the_conflict_explained(
    browser: Any, server: Server, api: Api
) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (lunch,) = api.agreement(ana, ben, "Ana & Ben", [("scheduling", LUNCH)])
    page = sign_in(browser, server, ben)
    open_live(page, f"/agreements/{agreement_id}")
    card = clause(page, lunch)
    card.locator("summary").click()
    mine = "We have a long lunch."
    card.get_by_label("Clause text").fill(mine)

    theirs = "We have lunch, then dinner."
    api.edit(ana, agreement_id, lunch, theirs, 1)
    # 3. Live, the person who changed it is named as Ben sees her, not "someone".
    expect(page.locator("#live-status")).to_contain_text("Ana changed this clause while you were editing.")
    expect(clause(page, lunch).locator("[data-their-version] .hint")).to_contain_text("Ana changed this clause")

    clause(page, lunch).get_by_role("button", name="Save").click()
    form = page.locator(f"#edit-{lunch}")
    expect(form.locator(".form-error")).to_contain_text("Ana changed this clause while you were editing.")
    expect(form.locator("textarea[name=text]")).to_have_value(mine)

    # What the address bar holds now is where the form went; opening it again (Enter in the
    # address bar, a restored tab) asks for it with GET.
    response = page.goto(page.url)
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("Ana & Ben")
    form = page.locator(f"#edit-{lunch}")
    expect(form).to_be_visible()
    expect(form.locator(".form-error")).to_contain_text("Your edit was not saved. Ana changed this clause")
    expect(form.locator("[data-their-version]")).to_be_visible()
    expect(form.locator("[data-their-version] blockquote")).to_have_text(theirs)
    screenshot(page, "agreement-edit-reloaded")

    # Saving from there is based on what Ana wrote, so it goes through.
    form.locator("textarea[name=text]").fill("We have lunch, then a walk.")
    form.get_by_role("button", name="Save my version").click()
    expect(clause(page, lunch).locator(".clause-text").first).to_have_text("We have lunch, then a walk.")


def test_every_form_address_opened_again_is_a_page_never_json(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (lunch,) = api.agreement(ana, ben, "Ana & Ben", [("scheduling", LUNCH)])
    page = sign_in(browser, server, ana)
    some = uuid.uuid4()
    base = f"/agreements/{agreement_id}"
    addresses = [
        f"{base}/consents",
        f"{base}/clauses",
        f"{base}/clauses/{lunch}/remove",
        f"{base}/proposals/{some}/accept",
        f"{base}/repair-notes/{some}/links",
        f"{base}/grants",
        "/network/links",
        f"/network/disclosures/{ben.id}",
    ]
    for address in addresses:
        response = page.goto(address)
        assert response is not None and response.status == 200, address
        assert response.headers["content-type"].startswith("text/html"), address
        expect(page.locator("main")).to_contain_text("not sent again")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    # An edit opened again whose clause has not changed since: not saved, nothing more.
    page.goto(f"{base}/clauses/{lunch}?revision=1")
    expect(page.locator(f"#edit-{lunch} .form-error")).to_have_text(re.compile(r"^Your edit was not saved: reloading"))
    expect(page.locator(f"#edit-{lunch} [data-their-version]")).to_be_hidden()
    # Signing out takes the form; its address alone signs nobody out.
    page.goto("/sign-out")
    expect(page).to_have_url(re.compile(r"/agreements$"))


# 3. Names, not "someone", on the timeline


def test_the_timeline_names_who_was_invited(browser: Any, server: Server, api: Api) -> None:
    ana, ben, cleo, dee = api.person("Ana"), api.person("Ben"), api.person("Cleo"), api.person("Dee")
    api.link(ana, cleo)
    agreement_id, _ = api.agreement(ana, ben, "Ana & Ben", [("scheduling", LUNCH)])
    invite(api, agreement_id, ana, cleo)  # Ana's partner: named to her
    invite(api, agreement_id, ben, dee)  # nobody Ana knows: a pseudonym

    ana_page = sign_in(browser, server, ana)
    ana_page.goto(f"/agreements/{agreement_id}/timeline")
    history = ana_page.locator(".timeline")
    expect(history).to_contain_text("You invited Ben")
    expect(history).to_contain_text("You invited Cleo")
    expect(history).to_contain_text(re.compile(r"Ben invited Someone \([0-9A-F]{4}\)"))
    expect(history).not_to_contain_text("invited someone")
    assert "Dee" not in history.inner_text()

    ben_page = sign_in(browser, server, ben)
    ben_page.goto(f"/agreements/{agreement_id}/timeline")
    expect(ben_page.locator(".timeline")).to_contain_text("Ana invited you")
    screenshot(ana_page, "timeline-names")


# 4. No consent to a version without clauses


def test_an_empty_draft_says_what_to_do_instead_of_offering_consent(browser: Any, server: Server, api: Api) -> None:
    ana = api.person("Ana")
    page = sign_in(browser, server, ana)
    page.get_by_label("Title").fill("Just me, so far")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("Just me, so far")
    consent = page.locator("#consent")
    expect(consent).to_contain_text("There is nothing to consent to yet")
    expect(consent.get_by_role("button")).to_have_count(0)
    expect(consent).not_to_contain_text("version 0")
    expect(consent.get_by_role("link", name="invite your partners")).to_be_visible()
    screenshot(page, "agreement-empty-draft", full_page=False)

    consent.get_by_role("link", name="write its first clause").click()
    expect(page.locator("#add-clause-details")).to_have_attribute("open", "")
    page.locator("#add-clause-text").fill(LUNCH)
    page.get_by_role("button", name="Add clause").click()
    expect(page.locator("#consent").get_by_role("button", name="I consent to version 1")).to_be_visible()


# 5. The diff keeps removed and added words apart


def test_removed_and_added_words_do_not_run_together(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (lunch,) = api.agreement(ana, ben, "Ana & Ben", [("scheduling", LUNCH)])
    api.edit(ana, agreement_id, lunch, "We have lunch, then dinner.", 1)
    page = sign_in(browser, server, ana)
    page.goto(f"/agreements/{agreement_id}/timeline?from=1&to=2")
    diff = page.locator(".diff-result .diff")
    expect(diff.locator("del")).to_have_text("lunch.")
    expect(diff.locator("ins")).to_have_text("lunch, then dinner.")
    expect(diff).to_have_text("We have lunch. lunch, then dinner.")
    screenshot(page, "timeline-diff-words", full_page=False)


# 6. The not-found page keeps the navigation


def test_not_found_keeps_the_signed_in_navigation(browser: Any, server: Server, api: Api) -> None:
    ana = api.person("Ana")
    page = sign_in(browser, server, ana)
    response = page.goto(f"/agreements/{uuid.uuid4()}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Network")).to_be_visible()
    expect(page.locator(".account")).to_contain_text(f"@{ana.handle}")
    # An address no page has: the same page, navigation and all.
    response = page.goto("/no-such-page/at/all")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".account")).to_contain_text(f"@{ana.handle}")
    # A malformed id is turned away by routing, before anyone is looked up: still a page, not JSON.
    response = page.goto("/agreements/not-an-id")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("Not found")
    page.goto("/agreements")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))


# 7. The live notice never covers the footer


def boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_the_live_notice_leaves_the_end_of_the_page_uncovered(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (lunch,) = api.agreement(ana, ben, "Ana & Ben", [("scheduling", LUNCH)])
    # A one-line notice on a wide window; a three-line one (a conflict) on a phone.
    for width, height, editing in ((1280, 800, False), (390, 700, True)):
        page = sign_in(browser, server, ben, width=width, height=height)
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        open_live(page, f"/agreements/{agreement_id}")
        if editing:
            clause(page, lunch).locator("summary").click()
            clause(page, lunch).get_by_label("Clause text").fill("We have a long lunch.")
        # The notice clears itself after a few seconds, which a busy machine could outlast, so it
        # is measured by the page itself the moment it shows: scrolled to the new end of the page
        # (the room it reserves lengthens it), in the same task as the notice and what it may cover.
        page.evaluate(
            """() => {
                window.__noticeSeen = [];
                const status = document.getElementById("live-status");
                const box = (element) => {
                    const r = element.getBoundingClientRect();
                    return {x: r.x, y: r.y, width: r.width, height: r.height};
                };
                new MutationObserver(() => {
                    if (!status.textContent) return;
                    window.scrollTo(0, document.documentElement.scrollHeight);
                    const cards = document.querySelectorAll("main .card");
                    window.__noticeSeen.push({
                        text: status.textContent,
                        notice: box(status),
                        covered: [box(document.querySelector(".site-footer p")), box(cards[cards.length - 1])],
                    });
                }).observe(status, {childList: true, characterData: true, subtree: true});
            }"""
        )
        revision = api.view(ana, agreement_id)["clauses"][0]["revision"]
        api.edit(ana, agreement_id, lunch, f"We have lunch at {width}.", revision)
        expected = "Ana changed this clause" if editing else "Updated just now."
        page.wait_for_function("(expected) => window.__noticeSeen.some((seen) => seen.text.includes(expected))", arg=expected)
        seen = page.evaluate("window.__noticeSeen")
        for shown in seen:
            assert shown["notice"]["width"] > 0, shown
            for box in shown["covered"]:
                assert box["height"] > 0, shown
                assert not boxes_overlap(shown["notice"], box), (width, shown)
        screenshot(page, f"live-notice-{width}", full_page=False)
        # The room is set through the CSSOM, which the Content-Security-Policy allows.
        assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--live-status-room')").strip()
        assert problems == []
        page.context.close()


# 8. Controls for name disclosure and for linking a repair note


def test_choosing_who_sees_my_name_from_the_network_page(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    api.link(ana, ben)

    def ana_as_ben_sees_her() -> str:
        network = api.call("GET", "/api/network", ben, 200)
        (link,) = network["links"]
        return link["other"]["name"]

    page = sign_in(browser, server, ana)
    page.goto("/network")
    row = page.locator(f"#name-{ben.id}")
    expect(row).to_contain_text("Sees your name")
    row.get_by_role("button", name="Hide my name from Ben").click()
    expect(page.locator(f"#name-{ben.id}")).to_contain_text("Sees a pseudonym")
    assert ana_as_ben_sees_her().startswith("Someone (")
    screenshot(page, "network-names")

    page.locator(f"#name-{ben.id}").get_by_role("button", name="Show my name to Ben").click()
    expect(page.locator(f"#name-{ben.id}")).to_contain_text("Sees your name")
    assert ana_as_ben_sees_her() == "Ana"
    # Only the name: the link itself is as it was.
    expect(page.locator(f"#link-{PartnerLink.id_for(UUID(ana.id), UUID(ben.id))}")).to_contain_text("Ben")


def test_a_repair_note_is_linked_to_the_renegotiation_it_led_to(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (lunch,) = api.agreement(ana, ben, "Ana & Ben", [("scheduling", LUNCH)])
    api.ratify(agreement_id, ana, ben)
    base = f"/api/agreements/{agreement_id}"
    note = {"clause_id": lunch, "what_happened": "I missed lunch twice.", "impact": "You ate alone.", "intentions": "I'll say so by Friday."}
    api.call("POST", f"{base}/repair-notes", ana, 201, json=note)
    change = {"kind": "edit", "clause_id": lunch, "text": "We have lunch when we both can."}
    api.call("POST", f"{base}/proposals", ana, 201, json={"changes": [change], "reason": "Fridays are hard for me now."})
    (proposal,) = api.view(ana, agreement_id)["proposals"]
    (written,) = api.view(ana, agreement_id)["repair_notes"]

    page = sign_in(browser, server, ana)
    page.goto(f"/agreements/{agreement_id}")
    card = page.locator(f"#note-{written['note_id']}")
    card.get_by_text("Link to the renegotiation it led to").click()
    expect(card.get_by_label("Renegotiation")).to_contain_text("Fridays are hard for me now.")
    card.get_by_role("button", name="Link the renegotiation").click()
    card = page.locator(f"#note-{written['note_id']}")
    expect(card.locator(".note-links")).to_contain_text("It led to this renegotiation")
    expect(card.locator(".note-links")).to_contain_text("You proposed: “Fridays are hard for me now.”")
    expect(card.get_by_text("Link to the renegotiation it led to")).to_have_count(0)
    assert api.view(ana, agreement_id)["repair_notes"][0]["linked_proposals"] == [proposal["proposal_id"]]
    screenshot(page, "repair-note-linked")

    # Ben sees the link, named from his side, and no control: only the author links a note.
    ben_page = sign_in(browser, server, ben)
    ben_page.goto(f"/agreements/{agreement_id}")
    ben_card = ben_page.locator(f"#note-{written['note_id']}")
    expect(ben_card.locator(".note-links")).to_contain_text("Ana proposed")
    expect(ben_card.get_by_text("Link to the renegotiation it led to")).to_have_count(0)
