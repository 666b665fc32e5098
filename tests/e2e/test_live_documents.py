"""Personal documents, live, end to end: a share arrives on the reader's open sockets as the very view
HTTP gives them, a revision follows, and revoking it takes it off every open socket of theirs at once."""

from __future__ import annotations

from tests.e2e.conftest import Api, Live, Server, build_world

CARE_PLAN = {"kind": "care_plan", "sections": [{"text": "Racing heart."}, {"text": "A slow walk."}, {"text": ""}, {"text": ""}]}


async def test_a_share_arrives_live_and_revoking_it_removes_it_at_once(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, sam = world.mina, world.sam  # Sam is Jo's partner: Mina's metamour
    view = await api.call("POST", "/api/documents", mina, 201, json=CARE_PLAN)
    document, key = view["document_id"], f"document:{view['document_id']}"
    owner, first, second = await Live.open(server, mina), await Live.open(server, sam), await Live.open(server, sam)
    assert owner.views[key] == view and key not in first.views

    shared = await api.call("POST", f"/api/documents/{document}/shares", mina, 200, json={"handle": sam.handle})
    for live in (first, second):
        change = await live.change_to(key)
        assert change["view"] == await api.call("GET", f"/api/documents/{document}", sam, 200)
        assert change["view"]["shares"] is None
    assert (await owner.change_to(key))["view"] == shared

    body = {"based_on_version": 1, "sections": [{"text": "Racing heart."}, {"text": "A long walk."}, {"text": ""}, {"text": ""}]}
    await api.call("PUT", f"/api/documents/{document}", mina, 200, json=body)
    assert (await first.change_to(key))["view"]["sections"][1]["text"] == "A long walk."
    await second.change_to(key)

    share_key = shared["shares"][0]["person"]["key"]
    await api.call("DELETE", f"/api/documents/{document}/shares/{share_key}", mina, 200)
    for live in (first, second):
        update = await live.update()
        assert update["position"] == api.position
        assert {"key": key, "removed": True} in update["changes"]
        assert key not in live.views
    await api.call("GET", f"/api/documents/{document}", sam, 404)

    # Mina writes on: nothing of it reaches Sam any more.
    body["sections"][2]["text"] = "Being told to calm down."
    await api.call("PUT", f"/api/documents/{document}", mina, 200, json={**body, "based_on_version": 2})
    await owner.update_at(api.position)
    for live in (first, second):
        await live.nothing_pending()
    assert key not in (await Live.open(server, sam)).views
