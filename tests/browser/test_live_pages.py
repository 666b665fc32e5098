"""Two partners and a metamour in Chromium, each in their own browser context, against a real server.

What one person does shows on the others' open pages without a reload, through
the websocket and the same consent policy as everything else.
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import (
    Api,
    Server,
    expect,
    not_reloaded,
    open_live,
    screenshot,
    sign_in,
)

BOUNDARIES = "We tell each other before a first date with someone new."
SCHEDULING = "Tuesdays and every other weekend are ours."


def clause(page: Any, clause_id: str) -> Any:
    return page.locator(f"#clause-{clause_id}")


def test_an_edit_shows_on_the_partners_open_page_without_a_reload(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (boundaries, scheduling) = api.agreement(
        ana, ben, "Ana & Ben", [("boundaries", BOUNDARIES), ("scheduling", SCHEDULING)]
    )
    ana_page, ben_page = sign_in(browser, server, ana), sign_in(browser, server, ben)
    open_live(ana_page, f"/agreements/{agreement_id}")
    open_live(ben_page, f"/agreements/{agreement_id}")
    ben_page.get_by_role("button", name="I consent to version 2").click()
    expect(ana_page.locator(f"[data-person='{ben.id}']")).to_contain_text("consented to version 2")
    open_live(ben_page)  # after the redirect that showed Ben his own consent

    edited = "We tell each other before a first date with someone new, and we say how it went."
    card = clause(ana_page, boundaries)
    card.locator("summary").click()
    card.get_by_label("Clause text").fill(edited)
    card.get_by_role("button", name="Save").click()
    expect(clause(ana_page, boundaries).locator(".clause-text").first).to_have_text(edited)

    expect(clause(ben_page, boundaries).locator(".clause-text").first).to_have_text(edited)
    expect(ben_page.locator("#consent")).to_contain_text("Version 3 is the current draft")
    # Ben's consent was to version 2: it does not carry over to what he has not read.
    expect(ben_page.locator(f"[data-person='{ben.id}']")).to_contain_text("not consented to version 3")
    expect(clause(ben_page, scheduling).locator(".clause-text").first).to_have_text(SCHEDULING)
    assert not_reloaded(ben_page)
    expect(ben_page.locator("#live-status")).to_contain_text("Updated")
    screenshot(ben_page, "agreement-drafting")


def test_a_clause_changed_while_you_edit_it_is_shown_beside_your_text_and_never_overwrites_it(
    browser: Any, server: Server, api: Api
) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (boundaries,) = api.agreement(ana, ben, "Ana & Ben", [("boundaries", BOUNDARIES)])
    ben_page = sign_in(browser, server, ben)
    open_live(ben_page, f"/agreements/{agreement_id}")
    card = clause(ben_page, boundaries)
    card.locator("summary").click()
    mine = "Ben's version: we tell each other the day before."
    card.get_by_label("Clause text").fill(mine)

    theirs = "Ana's version: we tell each other a week before."
    api.edit(ana, agreement_id, boundaries, theirs, 1)

    box = clause(ben_page, boundaries).locator("[data-their-version]")
    expect(box).to_be_visible()
    expect(box.locator("blockquote")).to_have_text(theirs)
    form = ben_page.locator(f"#edit-{boundaries}")
    expect(form.locator("textarea[name=text]")).to_have_value(mine)
    expect(form.locator("input[name=based_on_revision]")).to_have_value("1")
    expect(ben_page.locator("#live-status")).to_contain_text(
        "Ana changed this clause while you were editing. Their version is shown beside yours"
    )
    assert not_reloaded(ben_page)
    screenshot(ben_page, "agreement-edit-conflict-live", full_page=False)

    # Saving on top of a version Ben has not based his text on is refused, showing both.
    form.get_by_role("button", name="Save").click()
    conflict = ben_page.locator(f"#edit-{boundaries}")
    # Named as Ben sees her, not "someone".
    expect(conflict.locator(".form-error")).to_contain_text("Ana changed this clause")
    expect(conflict.locator("[data-their-version] blockquote")).to_have_text(theirs)
    expect(conflict.locator("textarea[name=text]")).to_have_value(mine)
    assert api.view(ana, agreement_id)["clauses"][0]["text"] == theirs
    screenshot(ben_page, "agreement-edit-conflict-409")

    # Having seen theirs, Ben may still choose his own.
    conflict.get_by_role("button", name="Save my version").click()
    expect(clause(ben_page, boundaries).locator(".clause-text").first).to_have_text(mine)


def test_a_renegotiation_proposed_in_one_browser_is_accepted_in_the_other(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (boundaries, scheduling) = api.agreement(
        ana, ben, "Ana & Ben", [("boundaries", BOUNDARIES), ("scheduling", SCHEDULING)]
    )
    api.ratify(agreement_id, ana, ben)
    ana_page, ben_page = sign_in(browser, server, ana), sign_in(browser, server, ben)
    open_live(ana_page, f"/agreements/{agreement_id}")
    open_live(ben_page, f"/agreements/{agreement_id}")

    proposed = "Tuesdays, Thursdays and every other weekend are ours."
    ana_page.get_by_text("Propose a change").click()
    form = ana_page.locator("#propose")
    form.get_by_label("Why? What has changed for you").fill("My evenings are freer since I changed jobs.")
    form.locator(f"textarea[name='text-{scheduling}']").fill(proposed)
    form.get_by_role("button", name="Propose").click()
    expect(ana_page.locator(".proposal.status-open")).to_contain_text("Waiting for Ben")

    proposal = ben_page.locator(".proposal.status-open")
    expect(proposal).to_contain_text("My evenings are freer since I changed jobs.")
    expect(proposal.locator("ins")).to_contain_text("Thursdays")
    assert not_reloaded(ben_page)
    screenshot(ben_page, "agreement-renegotiation")

    proposal.locator("summary", has_text="Comment").click()
    proposal.get_by_label("Your comment").fill("Yes, and let's keep Tuesdays sacred.")
    proposal.get_by_role("button", name="Send comment").click()
    expect(ana_page.locator(".comments")).to_contain_text("let's keep Tuesdays sacred")

    open_live(ana_page)
    ben_page.locator(".proposal.status-open").get_by_role("button", name="Accept").click()
    expect(clause(ben_page, scheduling).locator(".clause-text")).to_have_text(proposed)

    expect(clause(ana_page, scheduling).locator(".clause-text")).to_have_text(proposed)
    expect(ana_page.locator("#consent")).to_contain_text("Version 3 is in force")
    expect(ana_page.locator(".proposal.status-open")).to_have_count(0)
    assert not_reloaded(ana_page)
    expect(clause(ana_page, boundaries).locator(".clause-text")).to_have_text(BOUNDARIES)

    # The timeline shows what the renegotiation changed, word by word.
    ana_page.get_by_role("link", name="Timeline").click()
    diff = ana_page.locator(".diff-result")
    expect(diff.locator("ins")).to_contain_text("Thursdays")
    expect(diff).to_contain_text("Tuesdays")
    screenshot(ana_page, "timeline-diff")


def test_a_metamour_sees_exactly_the_shared_clauses_until_the_grant_is_revoked(
    browser: Any, server: Server, api: Api
) -> None:
    ana, ben, cleo = api.person("Ana"), api.person("Ben"), api.person("Cleo")
    api.link(ana, ben)
    api.link(ben, cleo)
    shared = ["Barriers with new partners until we talk about tests.", "We test every three months."]
    private = [BOUNDARIES, "What happens at home stays at home."]
    agreement_id, clause_ids = api.agreement(
        ana,
        ben,
        "Ana & Ben, the private title",
        [("safer_sex", shared[0]), ("boundaries", private[0]), ("safer_sex", shared[1]), ("privacy", private[1])],
    )
    api.ratify(agreement_id, ana, ben)

    # Ana proposes sharing the safer sex clauses with Cleo; Ben consents.
    ana_page = sign_in(browser, server, ana)
    ana_page.goto(f"/agreements/{agreement_id}/sharing")
    form = ana_page.locator("#grant-form")
    form.get_by_label("Their handle").fill(cleo.handle)
    form.get_by_label("Clauses on safer sex").check()
    form.get_by_label("Our names").check()
    form.get_by_role("button", name="Propose sharing").click()
    expect(ana_page.locator(".grant")).to_contain_text("Waiting for Ben")

    ben_page = sign_in(browser, server, ben)
    ben_page.goto(f"/agreements/{agreement_id}/sharing")
    ben_page.locator(".grant").get_by_role("button", name="I consent").click()
    expect(ben_page.locator(".grant")).to_contain_text("Shown now")
    expect(ben_page.locator(f"#audience-{clause_ids[0]}")).to_contain_text("Cleo is your partner")
    expect(ben_page.locator(f"#audience-{clause_ids[1]}")).to_contain_text("Only the parties")
    screenshot(ben_page, "sharing")

    cleo_page = sign_in(browser, server, cleo)
    expect(cleo_page.locator("#live")).to_contain_text("An agreement between Ana and Ben")
    cleo_page.get_by_role("link", name="An agreement between Ana and Ben").click()
    open_live(cleo_page)
    texts = cleo_page.locator(".shared-clause .clause-text")
    expect(texts).to_have_text(shared)
    body = cleo_page.locator("body").inner_text()
    for hidden in [*private, "the private title"]:
        assert hidden not in body
    assert "Boundaries" not in body and "Privacy" not in body, "not even the topics of what is not shared"
    screenshot(cleo_page, "metamour-view")

    ana_page.reload()
    expect(ana_page.locator(f"#audience-{clause_ids[2]}")).to_contain_text("is a partner of Ben, your partner")
    ana_page.locator(".grant").get_by_role("button", name="Revoke").click()
    expect(cleo_page.locator("#live")).to_contain_text("This is no longer shared with you.")
    expect(cleo_page.locator(".shared-clause")).to_have_count(0)
    assert not_reloaded(cleo_page)
    for gone in shared:
        assert gone not in cleo_page.locator("body").inner_text()
