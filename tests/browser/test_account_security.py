"""The security page in Chromium: sessions, the password, and passkeys with a virtual authenticator.

The authenticator is Chromium's own (the DevTools protocol's WebAuthn domain):
it answers navigator.credentials as a platform authenticator with user
verification would, so the page's script, the browser and the server run
their real ceremony. Passkey pages are opened on `localhost`: an IP address
cannot be a WebAuthn relying party id.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import SOON_MS, Api, Server
from tests.servers import PASSWORD, Person


def passkey_page(browser: Any, server: Server) -> tuple[Any, Any]:
    """A page on localhost with a virtual authenticator: (page, its DevTools session)."""
    context = browser.new_context(base_url=server.url.replace("127.0.0.1", "localhost"))
    context.set_default_timeout(SOON_MS)
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator", {"options": options}
    )["authenticatorId"]
    page.authenticator_id = authenticator
    return page, devtools


def sign_in_with_password(page: Any, who: Person, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Handle").fill(who.handle)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def add_passkey(page: Any, name: str) -> None:
    page.goto("/account/security")
    page.get_by_label("Name it").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    page.locator("#passkeys .passkey-name", has_text=name).wait_for()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(re.compile(r"/sign-in$"))


def test_register_a_passkey_then_sign_in_with_it_and_no_handle(
    browser: Any, server: Server, api: Api
) -> None:
    who = api.person("Noor")
    page, devtools = passkey_page(browser, server)
    sign_in_with_password(page, who)
    page.wait_for_url(re.compile(r"/agreements$"))

    add_passkey(page, "Test phone")
    [credential] = devtools.send(
        "WebAuthn.getCredentials", {"authenticatorId": page.authenticator_id}
    )["credentials"]
    assert credential["isResidentCredential"] is True
    [listed] = api.call("GET", "/api/me/passkeys", who, 200)
    assert listed["name"] == "Test phone" and listed["passkey_id"] == credential[
        "credentialId"
    ].rstrip("=").replace("+", "-").replace("/", "_")

    sign_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(re.compile(r"/agreements$"))
    assert page.locator(".account .handle").inner_text() == f"@{who.handle}"
    [used] = api.call("GET", "/api/me/passkeys", who, 200)
    assert used["last_used_at"] is not None
    page.context.close()


def test_a_required_passkey_is_asked_for_after_the_password(
    browser: Any, server: Server, api: Api
) -> None:
    who = api.person("Ilse")
    page, _ = passkey_page(browser, server)
    sign_in_with_password(page, who)
    page.wait_for_url(re.compile(r"/agreements$"))
    add_passkey(page, "Laptop")
    page.get_by_label("Require a passkey after my password").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/account/security$"))
    assert page.get_by_label("Require a passkey after my password").is_checked()

    sign_out(page)
    sign_in_with_password(page, who)
    page.get_by_role("heading", name="Confirm with your passkey").wait_for()
    assert page.context.cookies() and not [
        c for c in page.context.cookies() if c["name"] == "accord_session"
    ]
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(re.compile(r"/agreements$"))
    assert page.locator(".account .handle").inner_text() == f"@{who.handle}"
    page.context.close()


def test_a_second_factor_without_the_passkey_gives_no_session(
    browser: Any, server: Server, api: Api
) -> None:
    who = api.person("Remy")
    page, _ = passkey_page(browser, server)
    sign_in_with_password(page, who)
    page.wait_for_url(re.compile(r"/agreements$"))
    add_passkey(page, "Only key")
    page.get_by_label("Require a passkey after my password").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/account/security$"))
    sign_out(page)

    # The form sent without the passkey's answer: refused, and nobody is signed in.
    sign_in_with_password(page, who)
    page.get_by_role("heading", name="Confirm with your passkey").wait_for()
    page.locator("#second-factor").evaluate("form => form.submit()")
    page.get_by_text("Your passkey was not confirmed. Sign in again.").wait_for()
    assert not [c for c in page.context.cookies() if c["name"] == "accord_session"]
    page.goto("/agreements")
    page.wait_for_url(re.compile(r"/sign-in"))
    page.context.close()


def test_sessions_are_listed_and_ended_from_the_page(
    browser: Any, server: Server, api: Api
) -> None:
    who = api.person("Tove")  # the API's session: another device
    page, _ = passkey_page(browser, server)
    sign_in_with_password(page, who)
    page.wait_for_url(re.compile(r"/agreements$"))

    page.goto("/account/security")
    sessions = page.locator("#sessions .session")
    assert sessions.count() == 2
    assert page.locator("#sessions .this-session").count() == 1
    assert who.token not in page.content()
    sessions.filter(has_not=page.locator(".this-session")).get_by_role(
        "button", name="End"
    ).click()
    page.wait_for_url(re.compile(r"/account/security$"))
    assert page.locator("#sessions .session").count() == 1
    api.call("GET", "/api/me", who, 401)

    page.get_by_role("button", name="Sign out everywhere").click()
    page.wait_for_url(re.compile(r"/sign-in$"))
    page.goto("/agreements")
    page.wait_for_url(re.compile(r"/sign-in"))
    page.context.close()


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    browser: Any, server: Server, api: Api
) -> None:
    who = api.person("Ada")
    page, _ = passkey_page(browser, server)
    sign_in_with_password(page, who)
    page.wait_for_url(re.compile(r"/agreements$"))
    page.goto("/account/security")

    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password").fill("a new and longer passphrase")
    page.get_by_role("button", name="Change password").click()
    assert (
        page.locator("#password-current_password-error")
        .inner_text()
        .endswith("must be your current password")
    )

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("a new and longer passphrase")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/account/security$"))
    assert page.locator("#sessions .session").count() == 1
    api.call("GET", "/api/me", who, 401)
    sign_out(page)
    sign_in_with_password(page, who, "a new and longer passphrase")
    page.wait_for_url(re.compile(r"/agreements$"))
    page.context.close()
