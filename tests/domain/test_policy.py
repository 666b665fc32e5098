"""The consent policy as specifications: given links, grants and an agreement, then who sees what.

The cast: Mina and Jo are partners and the parties of the agreement. Sam is
Jo's partner, so Mina's metamour; Kit is Sam's partner, so Jo's metamour. Zed
knows nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from domain.agreement import Clause
from domain.errors import NotFound
from domain.network import Interval
from domain.policy import (
    AgreementFact,
    GrantFact,
    GrantStanding,
    HistoryFact,
    LinkFact,
    Network,
    Reason,
    agreement_access,
    discloses,
    display_name,
    grant_holds,
    grant_standing,
    in_force_history,
    metamours_of,
    partners_of,
    pseudonym,
    view_agreement,
    view_network,
    who_can_see,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CONSENTED = T0 + timedelta(days=10)
#: A break-up after consent, and making up again.
ENDED = CONSENTED + timedelta(days=1)
AGAIN = CONSENTED + timedelta(days=2)
NOW = T0 + timedelta(days=20)
SECRET = b"a server secret"


def live(a: UUID, b: UUID, since: datetime = T0) -> LinkFact:
    return LinkFact(a=a, b=b, status="live", proposer=a, intervals=(Interval(since),))


def ended(a: UUID, b: UUID, at: datetime) -> LinkFact:
    return LinkFact(a=a, b=b, status="ended", proposer=a, intervals=(Interval(T0, at),))


def relinked(a: UUID, b: UUID, ended_at: datetime, again: datetime) -> LinkFact:
    return LinkFact(
        a=a, b=b, status="live", proposer=b, intervals=(Interval(T0, ended_at), Interval(again))
    )


def pending(proposer: UUID, other: UUID) -> LinkFact:
    return LinkFact(a=proposer, b=other, status="proposed", proposer=proposer)


class Scene:
    def __init__(self) -> None:
        self.mina, self.jo, self.sam, self.kit, self.zed = (uuid4() for _ in range(5))
        self.names = {
            self.mina: "Mina Okafor",
            self.jo: "Jo Lindqvist",
            self.sam: "Sam Reyes",
            self.kit: "Kit Tanaka",
            self.zed: "Zed Zhou",
        }
        self.links = {
            "mina-jo": live(self.mina, self.jo),
            "jo-sam": live(self.jo, self.sam),
            "sam-kit": live(self.sam, self.kit),
        }
        self.disclosures: dict[UUID, dict[UUID, bool]] = {}
        self.boundaries, self.safer_sex, self.removed = uuid4(), uuid4(), uuid4()
        self.parties = (self.mina, self.jo)
        self.agreement_id = uuid4()

    @property
    def network(self) -> Network:
        return Network(links=tuple(self.links.values()), disclosures=self.disclosures)

    @property
    def agreement(self) -> AgreementFact:
        return AgreementFact(
            agreement_id=self.agreement_id,
            title="TITLE-MARKER Mina and Jo",
            parties=self.parties,
            clauses_in_force=(
                Clause(self.boundaries, "boundaries", "BOUNDARIES-NOW", revision=3),
                Clause(self.safer_sex, "safer_sex", "SAFER-SEX-NOW", revision=7),
            ),
            history=(
                HistoryFact(
                    clause_id=self.boundaries, topic="boundaries", change="added",
                    text="BOUNDARIES-BEFORE", at=T0,
                ),
                HistoryFact(
                    clause_id=self.safer_sex, topic="safer_sex", change="added",
                    text="SAFER-SEX-BEFORE", at=T0,
                ),
                HistoryFact(
                    clause_id=self.removed, topic="scheduling", change="added",
                    text="SCHEDULING-BEFORE", at=T0,
                ),
                HistoryFact(
                    clause_id=self.boundaries, topic="boundaries", change="edited",
                    text="BOUNDARIES-NOW", at=T0 + timedelta(days=1),
                ),
                HistoryFact(
                    clause_id=self.removed, topic="scheduling", change="removed",
                    text=None, at=T0 + timedelta(days=1),
                ),
            ),
        )

    def grant(
        self,
        *scopes: str,
        audience: UUID | None = None,
        consents: dict[UUID, datetime] | None = None,
        **fields: object,
    ) -> GrantFact:
        return GrantFact(
            grant_id=uuid4(),
            agreement_id=self.agreement_id,
            audience=audience or self.sam,
            scopes=frozenset(scopes),
            consents=consents if consents is not None else dict.fromkeys(self.parties, CONSENTED),
            **fields,  # type: ignore[arg-type]
        )

    def view(self, viewer: UUID, *grants: GrantFact, now: datetime = NOW):
        return view_agreement(
            viewer, self.agreement, grants, self.network, self.names, SECRET, now
        )

    def network_view(self, viewer: UUID, *grants: GrantFact, now: datetime = NOW):
        return view_network(
            viewer, self.network, self.names, [self.agreement], grants, SECRET, now
        )


@pytest.fixture
def s() -> Scene:
    return Scene()


def wire(view: object) -> str:
    return msgspec.json.encode(view).decode()


# Metamours come from live links only


def test_metamours_are_partners_of_partners_through_live_links(s):
    links = tuple(s.links.values())
    assert partners_of(s.jo, links) == {s.mina, s.sam}
    assert metamours_of(s.mina, links) == {s.sam}
    assert metamours_of(s.sam, links) == {s.mina}
    assert metamours_of(s.zed, links) == set()


def test_a_pending_or_ended_link_makes_no_metamour(s):
    s.links["jo-sam"] = pending(s.jo, s.sam)
    assert metamours_of(s.mina, s.network.links) == set()

    s.links["jo-sam"] = ended(s.jo, s.sam, CONSENTED)
    assert metamours_of(s.mina, s.network.links) == set()
    assert partners_of(s.jo, s.network.links) == {s.mina}


# Parties, metamours, everyone else


def test_a_party_sees_everything(s):
    view = s.view(s.mina)

    assert view.access == "party"
    assert view.title == "TITLE-MARKER Mina and Jo"
    assert [c.text for c in view.clauses] == ["BOUNDARIES-NOW", "SAFER-SEX-NOW"]
    assert len(view.history) == 5
    assert {p.name for p in view.parties} == {"Mina Okafor", "Jo Lindqvist"}


@pytest.mark.parametrize("who", ["kit", "zed"])
def test_without_a_grant_the_agreement_does_not_exist(s, who):
    assert s.view(getattr(s, who), s.grant("clauses:boundaries")) is None
    assert agreement_access(getattr(s, who), s.agreement, [], s.network, NOW).kind == "none"


def test_a_grant_holds_for_a_metamour_and_names_its_path(s):
    grant = s.grant("clauses:boundaries")

    assert grant_holds(grant, s.agreement, s.network, NOW) == Reason(
        grant_id=grant.grant_id, party=s.mina, partner=s.jo, audience=s.sam
    )
    access = agreement_access(s.sam, s.agreement, [grant], s.network, NOW)
    assert (access.kind, access.scopes) == ("metamour", {"clauses:boundaries"})


def test_a_metamour_of_any_party_will_do(s):
    # Kit is Jo's metamour through Sam, who is no party.
    grant = s.grant("clauses:boundaries", audience=s.kit)

    assert grant_holds(grant, s.agreement, s.network, NOW) == Reason(
        grant_id=grant.grant_id, party=s.jo, partner=s.sam, audience=s.kit
    )


def test_a_grant_to_someone_who_is_not_a_metamour_never_holds(s):
    grant = s.grant("clauses:boundaries", audience=s.zed)

    assert grant_holds(grant, s.agreement, s.network, NOW) is None
    assert s.view(s.zed, grant) is None


def test_a_grant_holds_only_for_its_own_agreement(s):
    grant = msgspec.structs.replace(s.grant("clauses:boundaries"), agreement_id=uuid4())

    assert s.view(s.sam, grant) is None


# Every party consents


def test_the_grant_is_inactive_until_every_party_consents(s):
    grant = s.grant("clauses:boundaries", consents={s.mina: CONSENTED})

    assert grant_holds(grant, s.agreement, s.network, NOW) is None
    assert s.view(s.sam, grant) is None


def test_a_party_joining_later_makes_it_inactive_until_they_consent(s):
    grant = s.grant("clauses:boundaries")
    s.parties = (s.mina, s.jo, s.kit)

    assert s.view(s.sam, grant) is None

    consented = msgspec.structs.replace(grant, consents={**grant.consents, s.kit: NOW})
    assert s.view(s.sam, consented) is not None


def test_a_revoked_grant_stops_at_once(s):
    grant = s.grant("clauses:boundaries", revoked=True)

    assert s.view(s.sam, grant) is None


def test_a_grant_lapses_at_its_end_date(s):
    grant = s.grant("clauses:boundaries", until=NOW)

    assert s.view(s.sam, grant, now=NOW - timedelta(seconds=1)) is not None
    assert s.view(s.sam, grant, now=NOW) is None


# The metamour relation must hold, unbroken


def test_when_the_link_ends_the_grant_stops_holding(s):
    grant = s.grant("clauses:boundaries")
    s.links["jo-sam"] = ended(s.jo, s.sam, NOW - timedelta(days=1))

    assert s.view(s.sam, grant) is None


def test_the_link_between_the_parties_ending_ends_it_too(s):
    grant = s.grant("clauses:boundaries")
    s.links["mina-jo"] = ended(s.mina, s.jo, NOW - timedelta(days=1))

    assert s.view(s.sam, grant) is None


def test_relinking_does_not_revive_the_old_grant(s):
    grant = s.grant("clauses:boundaries")
    s.links["jo-sam"] = relinked(s.jo, s.sam, ENDED, AGAIN)

    assert grant_holds(grant, s.agreement, s.network, NOW) is None
    assert s.view(s.sam, grant) is None


def test_a_fresh_grant_after_relinking_holds(s):
    s.links["jo-sam"] = relinked(s.jo, s.sam, ENDED, AGAIN)

    fresh = s.grant("clauses:boundaries", consents={s.mina: AGAIN, s.jo: NOW})

    assert s.view(s.sam, fresh).clauses[0].text == "BOUNDARIES-NOW"


def test_a_newcomers_consent_does_not_revive_a_grant_broken_before(s):
    grant = s.grant("clauses:boundaries")
    s.links["jo-sam"] = relinked(s.jo, s.sam, ENDED, AGAIN)
    s.parties = (s.mina, s.jo, s.kit)

    consented = msgspec.structs.replace(grant, consents={**grant.consents, s.kit: NOW})

    assert s.view(s.sam, consented) is None


def test_a_link_confirmed_after_consent_was_not_consented_to(s):
    s.links["jo-sam"] = live(s.jo, s.sam, since=CONSENTED + timedelta(seconds=1))

    assert s.view(s.sam, s.grant("clauses:boundaries")) is None


# What the parties are told: whether a grant holds now, and if not, why not


def standing(s: Scene, grant: GrantFact, now: datetime = NOW) -> GrantStanding:
    found = grant_standing(grant, s.parties, s.network, now)
    # The same decision the audience's access is made of: never one without the other.
    access = agreement_access(grant.audience, s.agreement, [grant], s.network, now)
    assert found.holds == (access.kind == "metamour") == (found.why_not is None)
    return found


def test_a_holding_grant_says_so_and_through_which_links(s):
    # Given every party's consent to a grant to Mina's metamour, through live links,
    grant = s.grant("clauses:boundaries")

    # then it holds, through Mina - Jo - Sam.
    assert standing(s, grant) == GrantStanding(
        active=True,
        through=Reason(grant_id=grant.grant_id, party=s.mina, partner=s.jo, audience=s.sam),
    )
    assert standing(s, grant).holds


def test_a_grant_awaits_every_partys_consent(s):
    # Given only Mina's consent,
    grant = s.grant("clauses:boundaries", consents={s.mina: CONSENTED})

    # then it is not active and waits for consent.
    assert standing(s, grant) == GrantStanding(active=False, why_not="awaiting_consent")

    # When a newcomer joins the parties of a holding grant, it waits for theirs too.
    holding = s.grant("clauses:boundaries")
    s.parties = (s.mina, s.jo, s.kit)
    assert standing(s, holding) == GrantStanding(active=False, why_not="awaiting_consent")


def test_until_everyone_consented_why_not_says_nothing_of_the_links(s):
    # Given Mina alone proposing a grant to someone who is nobody's metamour,
    grant = s.grant("clauses:boundaries", audience=s.zed, consents={s.mina: CONSENTED})

    # then it only waits for consent: one party alone cannot probe the others' partners' links.
    assert standing(s, grant).why_not == "awaiting_consent"


def test_a_revoked_grant_says_revoked_whatever_else_holds(s):
    grant = s.grant("clauses:boundaries", revoked=True, until=NOW)

    assert standing(s, grant) == GrantStanding(active=False, why_not="revoked")


def test_a_grant_past_its_end_date_says_lapsed(s):
    grant = s.grant("clauses:boundaries", until=NOW)

    assert standing(s, grant, now=NOW - timedelta(seconds=1)).holds
    assert standing(s, grant, now=NOW) == GrantStanding(active=False, why_not="lapsed")


def test_a_lapse_in_the_log_ends_it_whatever_the_clock_says(s):
    # Given a grant whose Lapsed event is in the log, read by a process whose clock is behind,
    grant = s.grant("clauses:boundaries", until=NOW, lapsed=True)

    # then it has lapsed there too.
    assert standing(s, grant, now=NOW - timedelta(days=1)) == GrantStanding(active=False, why_not="lapsed")


@pytest.mark.parametrize("link", ["jo-sam", "mina-jo"])
def test_a_link_that_ended_after_consent_says_link_ended(s, link):
    # Given a holding grant,
    grant = s.grant("clauses:boundaries")
    first, second = (getattr(s, name) for name in link.split("-"))

    # when a link of its path ends,
    s.links[link] = ended(first, second, ENDED)

    # then it is still active (nobody withdrew consent) but does not hold, because the link ended.
    assert standing(s, grant) == GrantStanding(active=True, why_not="link_ended")


def test_a_mended_link_still_says_link_ended(s):
    grant = s.grant("clauses:boundaries")

    s.links["jo-sam"] = relinked(s.jo, s.sam, ENDED, AGAIN)

    # Sam is a metamour again, but not through what was consented to.
    assert metamours_of(s.mina, s.network.links) == {s.sam}
    assert standing(s, grant).why_not == "link_ended"
    # A fresh grant, consented after the mending, holds.
    fresh = s.grant("clauses:boundaries", consents=dict.fromkeys(s.parties, NOW))
    assert standing(s, fresh).holds


def test_an_audience_who_was_never_a_metamour_says_not_a_metamour(s):
    # Given every party's consent to a grant to Zed, who knows nobody,
    grant = s.grant("clauses:boundaries", audience=s.zed)

    # then it is active and never holds.
    assert standing(s, grant) == GrantStanding(active=True, why_not="not_a_metamour")


def test_a_link_ended_before_consent_says_not_a_metamour(s):
    # Given Jo and Sam broke up before the parties consented,
    s.links["jo-sam"] = ended(s.jo, s.sam, CONSENTED - timedelta(days=1))

    # then Sam was no metamour to consent about, and is none now.
    assert standing(s, s.grant("clauses:boundaries")).why_not == "not_a_metamour"


def test_an_audience_who_became_a_metamour_after_consent_says_linked_after_consent(s):
    # Given a grant to Zed, consented while Zed was nobody's partner,
    grant = s.grant("clauses:boundaries", audience=s.zed)

    # when Zed and Jo become partners afterwards,
    s.links["jo-zed"] = live(s.jo, s.zed, since=AGAIN)

    # then Zed is a metamour, but only through a link nobody consented to.
    assert metamours_of(s.mina, s.network.links) == {s.sam, s.zed}
    assert standing(s, grant) == GrantStanding(active=True, why_not="linked_after_consent")


def test_an_audience_who_became_a_party_says_so(s):
    grant = s.grant("clauses:boundaries")

    s.parties = (s.mina, s.jo, s.sam)

    assert standing(s, grant).why_not == "audience_is_party"


def test_the_standing_does_not_depend_on_links_beyond_the_parties_and_the_audience(s):
    # Kit's grant holds through Jo - Sam - Kit; Zed is linked to Kit only.
    s.links["kit-zed"] = live(s.kit, s.zed)
    grant = s.grant("clauses:boundaries", audience=s.kit)
    near = Network(
        links=tuple(l for l in s.network.links if {l.a, l.b} & {*s.parties, s.kit}),
        disclosures={},
    )

    assert grant_standing(grant, s.parties, near, NOW) == grant_standing(grant, s.parties, s.network, NOW)
    s.links["sam-kit"] = ended(s.sam, s.kit, ENDED)
    near = Network(links=tuple(l for l in s.network.links if {l.a, l.b} & {*s.parties, s.kit}))
    assert grant_standing(grant, s.parties, near, NOW).why_not == "link_ended"


# What a metamour sees


def test_a_metamour_sees_only_the_granted_topics_not_even_how_many_others(s):
    view = s.view(s.sam, s.grant("clauses:boundaries"))

    assert view.access == "metamour"
    assert [(c.clause_id, c.topic, c.text) for c in view.clauses] == [
        (s.boundaries, "boundaries", "BOUNDARIES-NOW")
    ]
    sent = wire(view)
    for hidden in ("SAFER-SEX", "safer_sex", str(s.safer_sex), str(s.removed), "SCHEDULING"):
        assert hidden not in sent
    assert view.history == ()


def test_a_metamour_sees_no_title_and_no_revision_numbers(s):
    sent = wire(s.view(s.sam, s.grant(*(f"clauses:{t}" for t in ("boundaries", "safer_sex")))))

    assert "TITLE-MARKER" not in sent
    assert "revision" not in sent
    assert "version" not in sent


def test_grants_add_up(s):
    boundaries = s.grant("clauses:boundaries")
    safer_sex = s.grant("clauses:safer_sex", no_reshare=True)

    view = s.view(s.sam, boundaries, safer_sex)

    assert [c.topic for c in view.clauses] == ["boundaries", "safer_sex"]
    assert view.no_reshare


def test_history_only_with_history_and_only_of_granted_topics(s):
    view = s.view(s.sam, s.grant("clauses:boundaries", "history"))

    assert [(e.change, e.text) for e in view.history] == [
        ("added", "BOUNDARIES-BEFORE"),
        ("edited", "BOUNDARIES-NOW"),
    ]
    assert "SCHEDULING" not in wire(view)


def test_names_are_hidden_without_identity(s):
    view = s.view(s.sam, s.grant("clauses:boundaries"))
    sent = wire(view)

    for name in ("Mina", "Okafor", "Jo", "Lindqvist"):
        assert name not in sent
    assert str(s.mina) not in sent
    assert str(s.jo) not in sent
    assert all(p.name.startswith("Someone (") and p.person_id is None for p in view.parties)


def test_the_parties_own_partner_stays_pseudonymous_in_the_agreement_without_identity(s):
    # Sam knows Jo by name as a partner, but the agreement does not say Jo is in it.
    view = s.view(s.sam, s.grant("clauses:boundaries"))

    assert "Jo Lindqvist" not in wire(view)


def test_names_are_shown_with_identity(s):
    view = s.view(s.sam, s.grant("clauses:boundaries", "identity"))

    assert {(p.name, p.person_id) for p in view.parties} == {
        ("Mina Okafor", s.mina),
        ("Jo Lindqvist", s.jo),
    }


def test_the_link_between_parties_only_with_relationship(s):
    assert s.view(s.sam, s.grant("clauses:boundaries")).links == ()

    view = s.view(s.sam, s.grant("relationship"))

    keys = {p.key for p in view.parties}
    assert len(view.links) == 1
    assert {view.links[0].a, view.links[0].b} == keys


# Who can see this clause?


def test_a_party_asks_who_can_see_a_clause(s):
    boundaries = s.grant("clauses:boundaries", "identity")
    other_topic = s.grant("clauses:safer_sex", audience=s.sam)
    not_holding = s.grant("clauses:boundaries", audience=s.zed)

    seen_by = who_can_see(
        s.jo, s.agreement, s.boundaries, [boundaries, other_topic, not_holding], s.network, NOW
    )

    assert seen_by == (
        Reason(grant_id=boundaries.grant_id, party=s.mina, partner=s.jo, audience=s.sam),
    )


def test_who_can_see_prefers_a_path_through_the_asker(s):
    # Sam is a metamour of Mina through Jo, and of Jo through Ash.
    ash = uuid4()
    s.links["jo-ash"] = live(s.jo, ash)
    s.links["ash-sam"] = live(ash, s.sam)
    grant = s.grant("clauses:boundaries")

    (via_mina,) = who_can_see(s.mina, s.agreement, s.boundaries, [grant], s.network, NOW)
    (via_jo,) = who_can_see(s.jo, s.agreement, s.boundaries, [grant], s.network, NOW)

    assert (via_mina.party, via_mina.partner) == (s.mina, s.jo)
    assert (via_jo.party, via_jo.partner) == (s.jo, ash)


def test_a_removed_clause_is_seen_only_with_history(s):
    s.links["jo-sam"] = live(s.jo, s.sam)
    scheduling = s.grant("clauses:scheduling")
    with_history = s.grant("clauses:scheduling", "history")

    grants = [scheduling, with_history]

    seen_by = who_can_see(s.mina, s.agreement, s.removed, grants, s.network, NOW)

    assert [r.grant_id for r in seen_by] == [with_history.grant_id]


@pytest.mark.parametrize("asker", ["sam", "zed"])
def test_only_a_party_may_ask_and_others_learn_nothing(s, asker):
    with pytest.raises(NotFound) as error:
        who_can_see(
            getattr(s, asker), s.agreement, s.boundaries, [s.grant("clauses:boundaries")],
            s.network, NOW,
        )
    assert error.value.thing_id == s.boundaries


def test_an_unknown_clause_is_not_found(s):
    with pytest.raises(NotFound):
        who_can_see(s.mina, s.agreement, uuid4(), [], s.network, NOW)


# Names


def test_a_name_is_shown_to_oneself_and_by_default_to_live_partners(s):
    assert display_name(s.jo, s.jo, s.network, s.names, SECRET) == "Jo Lindqvist"
    assert display_name(s.jo, s.mina, s.network, s.names, SECRET) == "Jo Lindqvist"
    assert display_name(s.mina, s.sam, s.network, s.names, SECRET).startswith("Someone (")
    assert display_name(s.mina, s.zed, s.network, s.names, SECRET).startswith("Someone (")


def test_an_explicit_choice_wins_over_the_default(s):
    s.disclosures = {s.jo: {s.mina: False}, s.mina: {s.zed: True}}

    assert display_name(s.jo, s.mina, s.network, s.names, SECRET).startswith("Someone (")
    assert display_name(s.mina, s.zed, s.network, s.names, SECRET) == "Mina Okafor"


def test_asking_someone_to_be_partners_shows_them_your_name_not_theirs(s):
    s.links["zed-kit"] = pending(s.zed, s.kit)

    assert discloses(s.zed, s.kit, s.network)
    assert not discloses(s.kit, s.zed, s.network)


def test_an_ex_partner_sees_a_pseudonym_unless_chosen_otherwise(s):
    s.links["mina-jo"] = ended(s.mina, s.jo, CONSENTED)

    assert display_name(s.jo, s.mina, s.network, s.names, SECRET).startswith("Someone (")


def test_a_pseudonym_is_stable_per_viewer_and_reveals_nothing(s):
    first = pseudonym(s.mina, s.sam, SECRET)

    assert pseudonym(s.mina, s.sam, SECRET) == first
    assert pseudonym(s.mina, s.kit, SECRET) != first
    assert pseudonym(s.mina, s.sam, b"another secret") != first
    assert first.person_id is None
    assert str(s.mina) not in wire(first) and "Mina" not in wire(first)


# The network view


def test_the_network_view_shows_all_of_ones_own_links(s):
    s.links["mina-zed"] = ended(s.mina, s.zed, CONSENTED)
    s.links["kit-mina"] = pending(s.kit, s.mina)

    view = s.network_view(s.mina)

    assert view.me.name == "Mina Okafor"
    mine = {link.status: link for link in view.links}
    assert set(mine) == {"live", "ended", "proposed"}
    assert mine["live"].other.name == "Jo Lindqvist"
    assert mine["ended"].intervals == (Interval(T0, CONSENTED),)
    assert mine["ended"].other.person_id is None  # an ex sees a pseudonym by default
    assert mine["proposed"].other.name == "Kit Tanaka"
    assert not mine["proposed"].proposed_by_me


def test_a_partners_other_links_are_hidden_without_a_relationship_grant(s):
    grant = s.grant("clauses:boundaries", "identity")

    assert s.network_view(s.sam, grant).known_links == ()  # not Mina-Jo
    sent = wire(s.network_view(s.mina, grant))
    assert "Sam" not in sent and str(s.sam) not in sent  # not Jo-Sam
    assert s.network_view(s.jo).known_links == ()  # not Sam-Kit


def test_a_relationship_grant_shows_the_link_between_parties(s):
    grant = s.grant("relationship")

    view = s.network_view(s.sam, grant)

    ((link),) = view.known_links
    # Even Jo, Sam's own partner, is a pseudonym here: naming him would tell Sam he is a party.
    assert {link.a.person_id, link.b.person_id} == {None}
    assert "Mina" not in wire(view) and "Jo" not in wire(view.known_links)


def test_with_identity_too_the_parties_are_named(s):
    view = s.network_view(s.sam, s.grant("relationship", "identity"))

    ((link),) = view.known_links
    assert {link.a.name, link.b.name} == {"Mina Okafor", "Jo Lindqvist"}


def test_parties_see_the_links_between_their_co_parties(s):
    s.parties = (s.mina, s.jo, s.sam)

    ((link),) = s.network_view(s.mina).known_links

    assert {link.a.name, link.b.name} == {"Jo Lindqvist", "Sam Reyes"}


def test_an_ended_link_is_never_someone_elses_knowledge(s):
    grant = s.grant("relationship")
    s.links["mina-jo"] = ended(s.mina, s.jo, NOW)

    assert s.network_view(s.sam, grant).known_links == ()


# History facts


def test_in_force_history_compares_versions_in_force_only():
    a, b = uuid4(), uuid4()
    v1 = {a: Clause(a, "boundaries", "one"), b: Clause(b, "privacy", "two")}
    v2 = {a: Clause(a, "boundaries", "one, amended", revision=5)}

    history = in_force_history([(T0, v1), (NOW, v2)])

    assert [(h.clause_id, h.change, h.text, h.at) for h in history] == [
        (a, "added", "one", T0),
        (b, "added", "two", T0),
        (a, "edited", "one, amended", NOW),
        (b, "removed", None, NOW),
    ]


# Topics of the parties' own


class OwnTopics(Scene):
    """The scene, with two more clauses in force on topics the parties named themselves."""

    def __init__(self) -> None:
        super().__init__()
        self.money, self.kids = uuid4(), uuid4()

    @property
    def agreement(self) -> AgreementFact:
        base = super().agreement
        return msgspec.structs.replace(
            base,
            clauses_in_force=(
                *base.clauses_in_force,
                Clause(self.money, "money", "MONEY-NOW"),
                Clause(self.kids, "kids_and_school", "KIDS-NOW"),
            ),
            history=(
                *base.history,
                HistoryFact(clause_id=self.money, topic="money", change="added", text="MONEY-NOW", at=T0),
                HistoryFact(clause_id=self.kids, topic="kids_and_school", change="added", text="KIDS-NOW", at=T0),
            ),
        )


def test_a_party_sees_clauses_on_topics_of_their_own():
    s = OwnTopics()
    view = s.view(s.mina)
    assert {c.text for c in view.clauses} >= {"MONEY-NOW", "KIDS-NOW"}
    assert {"clauses:money", "clauses:kids_and_school"} <= set(view.scopes)
    assert {h.text for h in view.history} >= {"MONEY-NOW", "KIDS-NOW"}


def test_a_topic_of_ones_own_is_shared_by_its_own_scope_and_nothing_else():
    s = OwnTopics()
    view = s.view(s.sam, s.grant("clauses:money", "history"))
    assert [(c.clause_id, c.topic, c.text) for c in view.clauses] == [(s.money, "money", "MONEY-NOW")]
    assert [h.clause_id for h in view.history] == [s.money]
    sent = wire(view)
    for hidden in ("KIDS", "kids_and_school", str(s.kids), "BOUNDARIES", "SAFER-SEX"):
        assert hidden not in sent, hidden
    assert [c.topic for c in s.view(s.sam, s.grant("clauses:boundaries")).clauses] == ["boundaries"]
