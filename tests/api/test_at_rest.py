"""Intimate text at rest: a raw dump of the database holds none of it.

Every intimate field gets a marker of its own (display names, handles, a
title, clause texts, a proposal's reason and text, a comment, a decline's
reason, a repair note, a grant's audience handle, an idempotency record's
rendered view, a passkey's name). The views show each marker to who may see it (so the
scenario really wrote them); then the whole database is dumped raw —
`pg_dump` of every table on PostgreSQL, the file's bytes (WAL included) on
SQLite — and searched for each marker, as text and as the hex a bytea dump
shows.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import checkins
from tests.api.conftest import Api, Person, register_and_sign_in
from tests.api.test_account_security import ORIGIN, register_passkey
from tests.authenticator import SoftAuthenticator
from tests.conftest import find_pg_bindir


def marker(what: str) -> str:
    return f"mk{what}{uuid.uuid4().hex[:10]}"


async def person(api: Api, handle: str, name: str) -> Person:
    """Someone whose handle and name are markers."""
    person_id, headers = await register_and_sign_in(api.client, handle, name)
    return Person(person_id, handle, name, headers)


async def plant(api: Api) -> tuple[dict[str, str], str]:
    """Every intimate field written with its own marker; the markers, and the agreement's id."""
    m = {k: marker(k) for k in (
        "anahandle", "ananame", "benhandle", "benname", "solhandle", "solname", "title", "clause", "edit",
        "reason", "proposed", "comment", "declined", "happened", "impact", "intentions", "keyed", "passkey",
        "email",
        "ciprompt", "cianswer", "ciplan", "ciaction", "cimoved",
        "docsigns", "docrevised", "docarea", "docaction",
    )}  # fmt: skip
    ana = await person(api, m["anahandle"], m["ananame"])
    ben = await person(api, m["benhandle"], m["benname"])
    sol = await person(api, m["solhandle"], m["solname"])
    agreement_id = (await api.create(ana, m["title"]))["agreement_id"]
    await api.invite(ana, agreement_id, ben.handle)
    await api.accept_invitation(ben, agreement_id)
    base = f"/api/agreements/{agreement_id}"
    clause = str(uuid.uuid4())
    await api.call("POST", f"{base}/clauses", ana, 201, json={"clause_id": clause, "topic": "boundaries", "text": m["clause"]})
    await api.call("PUT", f"{base}/clauses/{clause}", ben, 200, json={"text": m["edit"], "based_on_revision": 1})
    # An idempotent command records its rendered view: that record rests sealed too.
    await api.call(
        "POST", f"{base}/clauses", ana, 201, json={"topic": "privacy", "text": m["keyed"]},
        headers={"Idempotency-Key": "plant-1"},
    )  # fmt: skip
    version = (await api.view(ana, agreement_id))["version"]
    await api.consent(ana, agreement_id, version)
    await api.consent(ben, agreement_id, version)
    proposal = str(uuid.uuid4())
    await api.call("POST", f"{base}/proposals", ben, 201, json={
        "proposal_id": proposal, "reason": m["reason"],
        "changes": [{"kind": "edit", "clause_id": clause, "text": m["proposed"]}],
    })  # fmt: skip
    await api.call("POST", f"{base}/proposals/{proposal}/comments", ana, 201, json={"text": m["comment"]})
    await api.call("POST", f"{base}/proposals/{proposal}/decline", ana, 200, json={"reason": m["declined"]})
    await api.call("POST", f"{base}/repair-notes", ana, 201, json={
        "clause_id": clause, "what_happened": m["happened"], "impact": m["impact"], "intentions": m["intentions"],
    })  # fmt: skip
    await api.link(ana, sol)
    grant = await api.call("POST", f"{base}/grants", ana, 201, json={"audience": sol.handle, "scopes": ["clauses:boundaries"]})
    await api.call("POST", f"{base}/grants/{grant['grant_id']}/consent", ben, 200)
    await register_passkey(api.client, ana, SoftAuthenticator(ORIGIN), name=m["passkey"])
    # A reminder address rests sealed with its person's key, like a handle.
    await api.call("PUT", "/api/me/email", ana, 200, json={"address": f"{m['email']}@example.org"})
    # A check-in among the agreement's parties: prompts, answers, a move's reason, a plan, an action point.
    check_in = (await api.call("POST", "/api/check-ins", ana, 201, json={
        **checkins.weekly(), "agreement_id": agreement_id, "prompts": [m["ciprompt"]],
    }))["check_in_id"]  # fmt: skip
    occurrence = f"/api/check-ins/{check_in}/occurrences/0"
    await api.call("PUT", f"{occurrence}/preparation", ben, 200, json={"answers": [m["cianswer"]]})
    await api.call("POST", f"{occurrence}/share", ben, 200)
    await api.call("POST", f"{occurrence}/move", ana, 200, json={"to": checkins.LATER, "reason": m["cimoved"]})
    await api.call("POST", f"{occurrence}/close", ana, 200, json={"plan": m["ciplan"], "action_points": [m["ciaction"]]})
    # Personal documents, sealed with each document's own key: a care plan (revised, shared with a
    # partner, with an idempotency record of the owner's view) and a security map.
    care_plan = (await api.call("POST", "/api/documents", ana, 201, json={
        "kind": "care_plan", "sections": [{"text": m["docsigns"]}, {"text": ""}, {"text": ""}, {"text": ""}],
    }, headers={"Idempotency-Key": "plant-doc"}))["document_id"]  # fmt: skip
    await api.call("PUT", f"/api/documents/{care_plan}", ana, 200, json={
        "based_on_version": 1, "sections": [{"text": m["docrevised"]}, {"text": ""}, {"text": ""}, {"text": ""}],
    })  # fmt: skip
    await api.call("POST", f"/api/documents/{care_plan}/shares", ana, 200, json={"partner_id": sol.sid})
    security_map = (await api.call("POST", "/api/documents", ana, 201, json={
        "kind": "security_map", "sections": [{"heading": m["docarea"], "text": m["docaction"]}, {"text": ""}, {"text": ""}],
    }))["document_id"]  # fmt: skip
    # The scenario wrote what it says: every marker reaches someone who may see it.
    seen = str(await api.view(ana, agreement_id)) + str(await api.call("GET", f"{base}/timeline", ben, 200))
    seen += str(await api.call("GET", f"{base}/grants", ana, 200)) + str(await api.call("GET", "/api/me", sol, 200))
    seen += str(await api.call("GET", "/api/me", ana, 200)) + str(await api.call("GET", "/api/me", ben, 200))
    seen += str(await api.call("GET", f"{base}/versions/1", ana, 200))
    seen += str(await api.call("GET", "/api/me/passkeys", ana, 200))
    seen += str(await api.call("GET", "/api/me/email", ana, 200))
    seen += str(await api.call("GET", f"/api/check-ins/{check_in}", ana, 200))
    seen += str(await api.call("GET", f"/api/documents/{care_plan}/history", ana, 200))
    seen += str(await api.call("GET", f"/api/documents/{care_plan}", sol, 200))
    seen += str(await api.call("GET", f"/api/documents/{security_map}", ana, 200))
    assert not [k for k, v in m.items() if v not in seen and v.casefold() not in seen]
    return m, agreement_id


def raw_dump(store_url: str) -> bytes:
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    bindir = find_pg_bindir()
    assert bindir is not None
    return subprocess.run(
        [str(Path(bindir, "pg_dump")), "--data-only", "--no-owner", store_url], check=True, capture_output=True
    ).stdout


def leaked(dump: bytes, markers: dict[str, str]) -> list[str]:
    found = []
    for key, value in markers.items():
        forms = [f.encode() for f in {value, value.casefold()}]
        if any(f in dump or f.hex().encode() in dump for f in forms):
            found.append(key)
    return found


async def test_a_raw_dump_of_the_database_holds_no_intimate_text(client: AsyncTestClient[Litestar], store_url: str) -> None:
    markers, _ = await plant(Api(client))
    dump = raw_dump(store_url)
    assert len(dump) > 10_000  # the dump is the database, not an empty answer
    assert leaked(dump, markers) == []


def test_the_dump_check_sees_text_where_it_is_in_clear(tmp_path: Path) -> None:
    """The check can fail: a marker in a clear SQLite row, and one in a bytea's hex, are found."""
    import sqlite3

    db = tmp_path / "clear.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (a TEXT, b BLOB)")
        conn.execute("INSERT INTO t VALUES (?, ?)", ("mkclear1", b'{"text":"mkclear2"}'))
    dump = raw_dump(f"sqlite:///{db}")
    assert leaked(dump, {"a": "mkclear1", "b": "mkclear2"}) == ["a", "b"]
    assert leaked(b"\\x" + b"mkclear3".hex().encode(), {"c": "mkclear3"}) == ["c"]
