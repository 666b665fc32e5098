"""The browser app over plain HTTP against a real server: sessions, CSRF, headers, errors, privacy.

No browser is needed here; these run wherever the suite runs.
"""

from __future__ import annotations

import re
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
from litestar.testing import TestClient

from domain.network import PartnerLink
from service.app import create_app
from service.settings import Settings
from tests.browser.conftest import PASSWORD, Api, Person, Server


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def browser_session(server: Server, who: Person) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)
    form = client.get("/sign-in")
    signed_in = client.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "handle": who.handle, "password": PASSWORD, "next": "/network"},
    )
    return client, signed_in


def test_sign_in_sets_an_httponly_samesite_session_cookie_holding_an_api_token(server: Server, api: Api) -> None:
    ana = api.person("Ana")
    client, response = browser_session(server, ana)
    assert response.status_code == 303
    assert response.headers["location"] == "/network"
    raw = next(h for h in response.headers.get_list("set-cookie") if h.startswith("accord_session="))
    cookie = SimpleCookie(raw)["accord_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() in ("lax", "strict")
    assert cookie["path"] == "/"
    assert not cookie["secure"], "plain http: a Secure cookie would never come back"
    assert abs(int(cookie["max-age"]) - 30 * 24 * 3600) < 60, "as long as the token lasts"
    # The same opaque token the API issues: it works as a bearer token.
    me = httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {cookie.value}"})
    assert me.json()["handle"] == ana.handle


def test_pages_send_security_headers_and_a_policy_without_inline_script(server: Server, api: Api) -> None:
    client, _ = browser_session(server, api.person("Ana"))
    for path in ("/sign-in", "/agreements", "/network", "/static/live.js", "/agreements/00000000-0000-0000-0000-000000000000"):
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert response.headers["x-frame-options"] == "DENY", path
    page = client.get("/agreements").text
    assert "<script>" not in page and " on" + "click=" not in page and "style=" not in page


def test_a_form_without_this_sessions_csrf_token_is_refused_and_changes_nothing(server: Server, api: Api) -> None:
    ana = api.person("Ana")
    client, _ = browser_session(server, ana)
    mallory, _ = browser_session(server, api.person("Mallory"))
    before = api.position()
    missing = client.post("/agreements", data={"title": "Forged"})
    foreign = client.post("/agreements", data={"title": "Forged", "csrf_token": csrf_of(mallory.get("/agreements").text)})
    assert missing.status_code == 403 and foreign.status_code == 403
    assert "text/html" in missing.headers["content-type"]
    assert api.position() == before
    own = client.post("/agreements", data={"title": "Ours", "csrf_token": csrf_of(client.get("/agreements").text)})
    assert own.status_code == 303 and own.headers["location"].startswith("/agreements/")


def test_the_json_api_needs_no_csrf_token_and_ignores_the_session_cookie(server: Server, api: Api) -> None:
    ana = api.person("Ana")
    client, _ = browser_session(server, ana)
    # A cookie alone never authenticates the API: a cross-site form could not use it.
    assert client.post("/api/agreements", json={"title": "By cookie"}).status_code == 401
    by_token = httpx.post(server.url + "/api/agreements", json={"title": "By token"}, headers=ana.headers)
    assert by_token.status_code == 201


def test_signed_out_visitors_are_sent_to_sign_in_and_back_but_never_to_another_site(server: Server, api: Api) -> None:
    anonymous = httpx.Client(base_url=server.url, follow_redirects=False)
    response = anonymous.get("/network")
    assert response.status_code == 303 and response.headers["location"] == "/sign-in?next=/network"
    ana = api.person("Ana")
    form = anonymous.get("/sign-in?next=//evil.example/")
    signed_in = anonymous.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "handle": ana.handle, "password": PASSWORD, "next": "//evil.example/"},
    )
    assert signed_in.headers["location"] == "/agreements"


def test_sign_in_failure_does_not_say_which_part_was_wrong(server: Server, api: Api) -> None:
    ana = api.person("Ana")
    client = httpx.Client(base_url=server.url)
    token = csrf_of(client.get("/sign-in").text)
    wrong_password = client.post("/sign-in", data={"csrf_token": token, "handle": ana.handle, "password": "not it at all"})
    no_such_handle = client.post("/sign-in", data={"csrf_token": token, "handle": "nobody_" + ana.handle, "password": "x" * 12})
    assert wrong_password.status_code == no_such_handle.status_code == 401
    assert "Wrong handle or password." in wrong_password.text and "Wrong handle or password." in no_such_handle.text
    assert ana.handle in wrong_password.text, "the handle typed is kept in the form"
    assert "not it at all" not in wrong_password.text, "a password is never echoed back"


def test_form_errors_are_shown_next_to_their_fields(server: Server, api: Api) -> None:
    client = httpx.Client(base_url=server.url)
    token = csrf_of(client.get("/sign-up").text)
    response = client.post(
        "/sign-up", data={"csrf_token": token, "handle": "a", "display_name": "A", "password": "short"}
    )
    assert response.status_code == 422
    # The first rule msgspec checks is the handle's; its message sits under the handle field.
    assert 'id="sign-up-handle-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    taken = api.person("Ana")
    token = csrf_of(client.get("/sign-up").text)
    response = client.post(
        "/sign-up", data={"csrf_token": token, "handle": taken.handle, "display_name": "B", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert re.search(r'id="sign-up-handle-error">.*is taken', response.text, re.S)

    # A domain rule, mapped from ValidationFailed.field: an edit that changes nothing.
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (clause_id,) = api.agreement(ana, ben, "Ours", [("boundaries", "Tell each other first.")])
    session, _ = browser_session(server, ana)
    page = session.get(f"/agreements/{agreement_id}")
    response = session.post(
        f"/agreements/{agreement_id}/clauses/{clause_id}",
        data={"csrf_token": csrf_of(page.text), "text": "Tell each other first.", "based_on_revision": "1"},
    )
    assert response.status_code == 422
    assert re.search(rf'id="edit-{clause_id}-text-error">.*is the same as the current text', response.text, re.S)


def test_an_agreement_is_not_found_for_anyone_who_may_not_see_it(server: Server, api: Api) -> None:
    ana, ben, eve = api.person("Ana"), api.person("Ben"), api.person("Eve")
    agreement_id, _ = api.agreement(ana, ben, "Only ours", [("privacy", "Nothing leaves this room.")])
    session, _ = browser_session(server, eve)
    for path in ("", "/live", "/timeline", "/sharing"):
        response = session.get(f"/agreements/{agreement_id}{path}")
        assert response.status_code == 404, path
        assert "Only ours" not in response.text and "Nothing leaves this room" not in response.text
    unknown = session.get("/agreements/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert unknown.text.count("There is nothing here") == 1


def test_a_form_sent_twice_runs_once(server: Server, api: Api) -> None:
    ana = api.person("Ana")
    session, _ = browser_session(server, ana)
    page = session.get("/agreements").text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    form = {**fields, "title": "Said once"}
    first = session.post("/agreements", data=form)
    after_first = api.position()
    again = session.post("/agreements", data=form)
    assert first.headers["location"] == again.headers["location"]
    assert api.position() == after_first
    mine = httpx.get(server.url + "/api/agreements", headers=ana.headers).json()
    assert [s["title"] for s in mine] == ["Said once"]


def test_sign_out_revokes_the_token(server: Server, api: Api) -> None:
    client, response = browser_session(server, api.person("Ana"))
    token = client.cookies["accord_session"]
    page = client.get("/agreements").text
    out = client.post("/sign-out", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    assert httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_renegotiation_and_sharing_forms_name_the_field_at_fault(server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (clause_id,) = api.agreement(ana, ben, "Ours", [("scheduling", "Sundays are ours.")])
    api.ratify(agreement_id, ana, ben)
    session, _ = browser_session(server, ana)
    token = csrf_of(session.get(f"/agreements/{agreement_id}").text)
    before = api.position()

    unchanged = session.post(
        f"/agreements/{agreement_id}/proposals",
        data={"csrf_token": token, "reason": "Nothing, really", f"text-{clause_id}": "Sundays are ours."},
    )
    assert unchanged.status_code == 422
    assert re.search(r'id="propose-message">Change, remove or add at least one clause.', unchanged.text)
    emptied = session.post(
        f"/agreements/{agreement_id}/proposals",
        data={"csrf_token": token, "reason": "Space", f"text-{clause_id}": "  "},
    )
    assert emptied.status_code == 422
    assert re.search(rf'id="propose-text-{clause_id}-error">.*must not be empty', emptied.text, re.S)
    assert "Space" in emptied.text, "the reason typed is kept"

    past = session.post(
        f"/agreements/{agreement_id}/grants",
        data={"csrf_token": token, "audience": "someone_else", "scopes": "clauses:scheduling", "until": "2001-01-01"},
    )
    assert past.status_code == 422
    assert re.search(r'id="grant-until-error">.*must be in the future', past.text, re.S)
    assert 'value="clauses:scheduling" checked' in past.text, "the scopes chosen are kept"
    no_scopes = session.post(f"/agreements/{agreement_id}/grants", data={"csrf_token": token, "audience": "someone"})
    assert re.search(r'id="grant-scopes-error">.*choose at least one', no_scopes.text, re.S)
    assert api.position() == before


def test_over_https_the_session_cookie_is_secure(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'accord.db'}", password_hashing="cheapest", auth_rate_per_minute=1000
    )
    with TestClient(create_app(settings), base_url="https://accord.example") as client:
        body = {"handle": "ana_https", "display_name": "Ana", "password": PASSWORD}
        assert client.post("/api/accounts", json=body).status_code == 201
        token = csrf_of(client.get("/sign-in").text)
        response = client.post(
            "/sign-in", data={"csrf_token": token, "handle": "ana_https", "password": PASSWORD}, follow_redirects=False
        )
    raw = next(h for h in response.headers.get_list("set-cookie") if h.startswith("accord_session="))
    assert SimpleCookie(raw)["accord_session"]["secure"] is True


def test_a_proposal_can_be_declined_with_a_reason_or_withdrawn_by_its_author(server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, (clause_id,) = api.agreement(ana, ben, "Ours", [("scheduling", "Sundays are ours.")])
    api.ratify(agreement_id, ana, ben)
    ana_session, _ = browser_session(server, ana)
    ben_session, _ = browser_session(server, ben)
    page = f"/agreements/{agreement_id}"

    def propose(text: str) -> str:
        token = csrf_of(ana_session.get(page).text)
        form = {"csrf_token": token, "reason": "Plans changed", f"text-{clause_id}": text}
        assert ana_session.post(f"{page}/proposals", data=form).status_code == 303
        return next(p["proposal_id"] for p in api.view(ana, agreement_id)["proposals"] if p["status"] == "open")

    first = propose("Saturdays are ours.")
    ben_page = ben_session.get(page).text
    assert "Decline the proposal" in ben_page and "Withdraw my proposal" not in ben_page
    declined = ben_session.post(
        f"{page}/proposals/{first}/decline", data={"csrf_token": csrf_of(ben_page), "reason": "I work Saturdays."}
    )
    assert declined.status_code == 303

    second = propose("Fridays are ours.")
    ana_page = ana_session.get(page).text
    assert "Withdraw my proposal" in ana_page and "Decline the proposal" not in ana_page
    withdrawn = ana_session.post(f"{page}/proposals/{second}/withdraw", data={"csrf_token": csrf_of(ana_page)})
    assert withdrawn.status_code == 303

    statuses = {p["proposal_id"]: p["status"] for p in api.view(ana, agreement_id)["proposals"]}
    assert statuses == {first: "declined", second: "withdrawn"}
    assert "Earlier renegotiations (2)" in ana_session.get(page).text
    # Answering a closed proposal again is refused in words, not with a crash.
    again = ben_session.post(f"{page}/proposals/{first}/accept", data={"csrf_token": csrf_of(ben_page)})
    assert again.status_code == 409 and "This proposal is no longer open." in again.text


def test_the_sharing_page_says_in_words_whether_each_grant_holds_and_why_not(server: Server, api: Api) -> None:
    ana, ben, cleo, dan = (api.person(n) for n in ("Ana", "Ben", "Cleo", "Dan"))
    api.link(ana, ben)
    api.link(ben, cleo)  # Cleo is Ana's metamour; Dan is nobody's.
    agreement_id, _ = api.agreement(ana, ben, "Shared with care", [("safer_sex", "Barriers with new partners.")])
    api.ratify(agreement_id, ana, ben)
    base = f"/api/agreements/{agreement_id}/grants"

    def grant(audience: Person, consent: bool = True) -> str:
        grant_id = api.call("POST", base, ana, 201, json={"audience": audience.handle, "scopes": ["clauses:safer_sex"]})["grant_id"]
        if consent:
            api.call("POST", f"{base}/{grant_id}/consent", ben, 200)
        return grant_id

    holding, waiting, nobody = grant(cleo), grant(cleo, consent=False), grant(dan)
    session, _ = browser_session(server, ana)
    # Ana has not been told Cleo's name: the page calls Cleo what the API calls Cleo for Ana.
    cleo_for_ana = next(g for g in api.call("GET", base, ana, 200) if g["grant_id"] == holding)["audience"]["name"]

    def status(grant_id: str) -> tuple[str, str]:
        page = session.get(f"/agreements/{agreement_id}/sharing")
        assert page.status_code == 200
        found = re.search(rf'id="grant-{grant_id}">.*?<p class="status-line" data-why-not="(\w*)">(.*?)</p>', page.text, re.S)
        assert found, f"grant {grant_id} is not on the page"
        return found.group(1), re.sub(r"<[^>]+>", "", found.group(2))

    assert status(holding) == ("", f"Shown now {cleo_for_ana} is a partner of Ben, your partner.")
    assert status(waiting) == ("awaiting_consent", "Waiting for Ben to consent.")
    why, said = status(nobody)
    assert why == "not_a_metamour" and said.startswith("Not shown") and "not a partner of a partner" in said

    # Ben and Cleo part: the grant that held is over for good, and the page says so, and why.
    api.call("POST", f"/api/links/{PartnerLink.id_for(uuid.UUID(ben.id), uuid.UUID(cleo.id))}/end", cleo, 200)
    why, said = status(holding)
    assert why == "link_ended"
    assert said.startswith(f"Ended {cleo_for_ana} was a partner of a partner when you all consented")
    assert "propose a fresh grant" in said
