"""See what they see, and who may export: the policy's previews as specifications.

The cast of tests/domain/test_policy.py: Mina and Jo are the parties, Sam is
Jo's partner (Mina's metamour), Kit is Sam's partner, Zed knows nobody.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import NotFound, NotToBeShared
from domain.policy import check_may_export, preview_grant, view_agreement
from tests.domain.test_policy import CONSENTED, NOW, SECRET, Scene


@pytest.fixture
def s() -> Scene:
    return Scene()


def preview(s: Scene, grant_id, grants, asker=None):
    return preview_grant(asker or s.mina, grant_id, s.agreement, grants, s.network, s.names, SECRET, NOW)


def test_a_grant_in_effect_previews_exactly_the_audiences_view(s):
    grant = s.grant("clauses:boundaries", "identity")
    found = preview(s, grant.grant_id, [grant])
    assert not found.pending and found.why_not is None
    assert found.view == view_agreement(s.sam, s.agreement, [grant], s.network, s.names, SECRET, NOW)
    assert [c.text for c in found.view.clauses] == ["BOUNDARIES-NOW"]


def test_the_preview_shows_everything_the_audience_holds_not_only_this_grant(s):
    one, other = s.grant("clauses:boundaries"), s.grant("clauses:safer_sex")
    found = preview(s, one.grant_id, [one, other])
    assert {c.topic for c in found.view.clauses} == {"boundaries", "safer_sex"}


def test_a_pending_grant_previews_what_they_would_see_once_everyone_consents(s):
    grant = s.grant("clauses:safer_sex", consents={s.mina: CONSENTED})
    assert view_agreement(s.sam, s.agreement, [grant], s.network, s.names, SECRET, NOW) is None
    found = preview(s, grant.grant_id, [grant], asker=s.jo)
    assert found.pending and found.why_not is None
    assert found.view.title is None and [c.text for c in found.view.clauses] == ["SAFER-SEX-NOW"]
    consented = s.grant("clauses:safer_sex")
    assert found.view == view_agreement(s.sam, s.agreement, [consented], s.network, s.names, SECRET, NOW)


def test_a_pending_grant_to_someone_who_is_no_metamour_does_not_tell_so(s):
    """Whether Zed is anyone's partner is not for a lone proposer to learn."""
    grant = s.grant("clauses:safer_sex", audience=s.zed, consents={s.mina: CONSENTED})
    found = preview(s, grant.grant_id, [grant])
    assert found.pending and found.why_not is None and found.view is not None


def test_a_grant_that_does_not_hold_previews_nothing_and_says_why(s):
    grant = s.grant("clauses:safer_sex", audience=s.zed)
    found = preview(s, grant.grant_id, [grant])
    assert (found.pending, found.why_not, found.view) == (False, "not_a_metamour", None)
    revoked = s.grant("clauses:safer_sex", revoked=True)
    found = preview(s, revoked.grant_id, [revoked])
    assert (found.pending, found.why_not, found.view) == (False, "revoked", None)


def test_only_a_party_may_preview(s):
    grant = s.grant("clauses:boundaries")
    for outsider in (s.sam, s.kit, s.zed):
        with pytest.raises(NotFound):
            preview(s, grant.grant_id, [grant], asker=outsider)
    with pytest.raises(NotFound):
        preview(s, uuid4(), [grant])


def test_a_metamour_may_export_unless_a_grant_asks_not_to_pass_it_on(s):
    grant = s.grant("clauses:boundaries")
    check_may_export(view_agreement(s.sam, s.agreement, [grant], s.network, s.names, SECRET, NOW))
    kept = s.grant("clauses:safer_sex", no_reshare=True)
    view = view_agreement(s.sam, s.agreement, [grant, kept], s.network, s.names, SECRET, NOW)
    with pytest.raises(NotToBeShared):
        check_may_export(view)
    # The parties' own view is theirs to export.
    check_may_export(view_agreement(s.mina, s.agreement, [kept], s.network, s.names, SECRET, NOW))


def test_a_metamour_has_no_versions_to_export(s):
    view = view_agreement(s.sam, s.agreement, [s.grant("clauses:boundaries")], s.network, s.names, SECRET, NOW)
    with pytest.raises(NotFound):
        check_may_export(view, version=3)
