"""A drawing of the network one person may see: them in the middle, everyone else on a circle.

The layout is computed here, from the consented `NetworkView` only, so the
picture can show nothing the lists beside it do not.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

from domain.policy import NetworkView

NodeKind = Literal["me", "partner", "asked", "other"]
EdgeKind = Literal["live", "proposed", "known"]

WIDTH, HEIGHT = 560, 370
RADIUS = 130
NODE_RADIUS = 16
MAX_LABEL = 16


class Node(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    name: str
    label: str
    kind: NodeKind
    x: float
    y: float
    label_x: float
    label_y: float
    anchor: Literal["start", "middle", "end"]


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    kind: EdgeKind
    x1: float
    y1: float
    x2: float
    y2: float
    a: str
    b: str


class Drawing(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def draw(network: NetworkView) -> Drawing:
    me = network.me
    names = {me.key: me.name}
    kinds: dict[str, NodeKind] = {me.key: "me"}
    pairs: list[tuple[str, str, EdgeKind]] = []
    for link in network.links:
        if link.status not in ("live", "proposed"):
            continue
        names[link.other.key] = link.other.name
        kinds[link.other.key] = "partner" if link.status == "live" else "asked"
        pairs.append((me.key, link.other.key, "live" if link.status == "live" else "proposed"))
    for known in network.known_links:
        for ref in (known.a, known.b):
            names.setdefault(ref.key, ref.name)
            kinds.setdefault(ref.key, "other")
        pairs.append((known.a.key, known.b.key, "known"))

    ring = _ring_order(me.key, pairs, names)
    cx, cy = WIDTH / 2, HEIGHT / 2
    at = {me.key: (cx, cy)}
    nodes = [
        Node(
            # "You", inside the circle: a label below it would sit on an edge.
            key=me.key, name=me.name, label="You", kind="me",
            x=cx, y=cy, label_x=cx, label_y=cy + 4, anchor="middle",
        )
    ]
    # An odd number of places on the circle: no two are opposite, so no link between
    # two others is drawn straight through "You".
    places = len(ring) + (1 - len(ring) % 2)
    for index, key in enumerate(ring):
        angle = -math.pi / 2 + 2 * math.pi * index / places
        x, y = cx + RADIUS * math.cos(angle), cy + RADIUS * math.sin(angle)
        at[key] = (x, y)
        out = RADIUS + NODE_RADIUS + 8
        lx, ly = cx + out * math.cos(angle), cy + out * math.sin(angle) + 5
        anchor = "start" if math.cos(angle) > 0.3 else "end" if math.cos(angle) < -0.3 else "middle"
        if anchor == "middle":
            ly += 8 if math.sin(angle) > 0 else -4
        nodes.append(
            Node(
                key=key, name=names[key], label=_label(names[key]), kind=kinds[key],
                x=round(x, 1), y=round(y, 1), label_x=round(lx, 1), label_y=round(ly, 1), anchor=anchor,
            )
        )
    edges = [
        Edge(kind=kind, x1=round(at[a][0], 1), y1=round(at[a][1], 1), x2=round(at[b][0], 1),
             y2=round(at[b][1], 1), a=names[a], b=names[b])
        for a, b, kind in pairs
    ]
    return Drawing(width=WIDTH, height=HEIGHT, nodes=tuple(nodes), edges=tuple(edges))


def _ring_order(me: str, pairs: list[tuple[str, str, EdgeKind]], names: dict[str, str]) -> list[str]:
    """Depth first from `me`, so a partner's partners sit next to that partner."""
    neighbours: dict[str, list[str]] = {}
    for a, b, _ in pairs:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    order: list[str] = []
    seen = {me}

    def visit(key: str) -> None:
        for other in sorted(neighbours.get(key, []), key=lambda k: (names[k], k)):
            if other not in seen:
                seen.add(other)
                order.append(other)
                visit(other)

    visit(me)
    return order + sorted((k for k in names if k not in seen), key=lambda k: (names[k], k))


def _label(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"
