"""The network drawing: computed from the consented network view alone, laid out on a circle."""

from __future__ import annotations

import math
from uuid import uuid4

from domain.policy import KnownLink, MyLink, NetworkView, PersonRef
from service.web.graph import RADIUS, draw


def ref(name: str) -> PersonRef:
    person = uuid4()
    return PersonRef(key=str(person), name=name, person_id=person)


def link(other: PersonRef, status: str = "live") -> MyLink:
    return MyLink(link_id=uuid4(), other=other, status=status, proposed_by_me=True, intervals=())  # type: ignore[arg-type]


def test_you_in_the_middle_partners_on_a_circle_and_a_partners_partner_beside_them() -> None:
    me, theo, sam, jules = ref("Mina"), ref("Theo"), ref("Sam"), ref("Jules Featherstonehaugh-Smith")
    drawing = draw(NetworkView(me=me, links=(link(theo), link(sam)), known_links=(KnownLink(sam, jules),)))

    nodes = {n.name: n for n in drawing.nodes}
    assert nodes["Mina"].kind == "me" and nodes["Mina"].label == "You"
    assert (nodes["Mina"].x, nodes["Mina"].y) == (drawing.width / 2, drawing.height / 2)
    assert {nodes["Sam"].kind, nodes["Theo"].kind, nodes[jules.name].kind} == {"partner", "other"}
    for name in ("Sam", "Theo", jules.name):
        distance = math.dist((nodes[name].x, nodes[name].y), (nodes["Mina"].x, nodes["Mina"].y))
        assert abs(distance - RADIUS) < 0.5
    assert nodes[jules.name].label.endswith("…") and len(nodes[jules.name].label) <= 16

    # Depth first: Sam, then Sam's partner Jules next to him, then Theo.
    ring = [n.name for n in drawing.nodes[1:]]
    assert ring == ["Sam", jules.name, "Theo"]
    kinds = sorted((e.a, e.b, e.kind) for e in drawing.edges)
    assert kinds == sorted([("Mina", "Theo", "live"), ("Mina", "Sam", "live"), ("Sam", jules.name, "known")])


def test_no_link_between_two_others_is_drawn_through_you() -> None:
    me, sam, jules = ref("Mina"), ref("Sam"), ref("Jules")
    # Two people on the circle: were they opposite, the line between them would cross "You".
    drawing = draw(NetworkView(me=me, links=(link(sam),), known_links=(KnownLink(sam, jules),)))
    centre = (drawing.width / 2, drawing.height / 2)
    (edge,) = [e for e in drawing.edges if e.kind == "known"]
    # Distance from the centre to the line through the edge's ends.
    (x1, y1), (x2, y2) = (edge.x1, edge.y1), (edge.x2, edge.y2)
    distance = abs((x2 - x1) * (y1 - centre[1]) - (x1 - centre[0]) * (y2 - y1)) / math.dist((x1, y1), (x2, y2))
    assert distance > 40


def test_only_live_and_asked_links_are_drawn_and_asked_ones_look_different() -> None:
    me, asked, ended = ref("Mina"), ref("Noor"), ref("Old flame")
    drawing = draw(NetworkView(me=me, links=(link(asked, "proposed"), link(ended, "ended")), known_links=()))
    assert [n.name for n in drawing.nodes] == ["Mina", "Noor"]
    assert [n.kind for n in drawing.nodes] == ["me", "asked"]
    assert [e.kind for e in drawing.edges] == ["proposed"]
