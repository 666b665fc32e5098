"""A check-in, live: real servers, the real websockets client.

Each participant's socket gets the fresh view of the series (the same as GET
answers them) when something they may see of it changes; another's private
preparation changes nothing anyone else may see, so it sends them nothing at
all; a metamour hears of none of it.
"""

from __future__ import annotations

import json

from tests import checkins
from tests.e2e.conftest import Api, Live, Server, build_world


async def test_participants_see_shared_answers_live_and_nobody_else_sees_anything(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, jo, sam = [await Live.open(server, who) for who in (world.mina, world.jo, world.sam)]

    started = await api.call("POST", "/api/check-ins", world.mina, 201, json=checkins.weekly(partner_id=world.jo.id))
    key = f"checkin:{started['check_in_id']}"
    path = f"/api/check-ins/{started['check_in_id']}"
    for live, who in ((mina, world.mina), (jo, world.jo)):
        # Pushed per event: the last event of the command (the first occurrence opened) shows what GET does;
        # their inbox changed with it (the occurrence waits for them).
        changes = {c["key"]: c for c in (await live.update_at(api.position))["changes"]}
        assert set(changes) == {key, "inbox"}
        change = changes[key]
        assert change["view"] == await api.call("GET", path, who, 200)

    secret = "Mina's words, for nobody else yet"
    body = {"answers": [secret, "", "", "", ""]}
    await api.call("PUT", f"{path}/occurrences/0/preparation", world.mina, 200, json=body)
    change = await mina.change_to(key)
    assert change["view"]["occurrences"][0]["my_answers"][0] == secret
    # Jo's view did not change, so nothing is sent: not even when Mina is writing.
    await jo.nothing_pending()

    await api.call("POST", f"{path}/occurrences/0/share", world.mina, 200)
    change = await jo.change_to(key)
    assert change["view"] == await api.call("GET", path, world.jo, 200)
    assert change["view"]["occurrences"][0]["shared"][0]["answers"][0] == secret

    # The link ends: the series is gone from both sockets.
    await api.call("POST", f"/api/links/{world.links['mina-jo']}/end", world.jo, 200)
    for live in (mina, jo):
        while not (await live.change_to(key)).get("removed"):
            pass  # what came before (Mina's own view of her sharing)

    await sam.nothing_pending()
    assert started["check_in_id"] not in json.dumps(sam.frames)
    for live in (mina, jo, sam):
        await live.close()
