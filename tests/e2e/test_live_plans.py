"""A plan, live: real servers, the real websockets client.

Each participant's socket gets the fresh view of the plan (the same as GET answers them) under
the key `plan:<id>`, and the invitee's inbox with it; when their link ends it is removed from both;
a partner of one of them who is not in it hears of none of it.
"""

from __future__ import annotations

import json

from tests import plans
from tests.e2e.conftest import Api, Live, Server, build_world


async def test_participants_see_a_plan_live_and_nobody_else_hears_of_it(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, jo, sam = [await Live.open(server, who) for who in (world.mina, world.jo, world.sam)]

    proposed = await api.call("POST", "/api/plans", world.jo, 201, json=plans.plan_body(world.mina))
    key, path = f"plan:{proposed['plan_id']}", f"/api/plans/{proposed['plan_id']}"
    changes = {c["key"]: c for c in (await mina.update_at(api.position))["changes"]}
    assert set(changes) == {key, "inbox", "calendar"}  # it waits for her answer, and holds her time
    assert changes[key]["view"] == await api.call("GET", path, world.mina, 200)
    assert "plan" in [i["kind"] for i in changes["inbox"]["view"]["items"]]
    assert (await jo.change_to(key))["view"] == await api.call("GET", path, world.jo, 200)

    await api.call("POST", f"{path}/answer", world.mina, 200, json={"answer": "accepted", "note": "yes please"})
    change = await jo.change_to(key)
    assert change["view"]["status"] == "accepted" and change["view"] == await api.call("GET", path, world.jo, 200)

    # Their link ends: the plan is gone from both sockets.
    await api.call("POST", f"/api/links/{world.links['mina-jo']}/end", world.mina, 200)
    for live in (mina, jo):
        while not (await live.change_to(key)).get("removed"):
            pass

    await sam.nothing_pending()
    assert proposed["plan_id"] not in json.dumps(sam.frames) and "yes please" not in json.dumps(sam.frames)
    for live in (mina, jo, sam):
        await live.close()
