"""Export my data: everything one person may see, in one document.

Every part is an answer the API already gives that person, asked the same
way: the agreements they are a party of, invited to, or shown through a
sharing grant (`GET /api/agreements` and, for each, `GET /api/agreements/{id}`),
a party's timeline, versions and grants, the invitation an invitee sees, and
their network view. Nothing here decides who sees what: the one view function
(service/visibility.py) and the read queries do, so an export cannot hold
anything those would not show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.errors import NotFound
from domain.policy import (
    CheckInView,
    DocumentView,
    InvitationView,
    NetworkView,
    PlanView,
    SharedView,
)
from projections.documents import VersionEntry
from projections.timeline import Entry
from service.http.wire import Me
from service.read.queries import Queries
from service.store.base import Account
from service.views import AgreementSummary, AgreementView, ClauseView, clause_views
from service.visibility import (
    AvailabilityView,
    CalendarView,
    FeedView,
    GrantView,
    SignalsView,
    Visibility,
    my_feed,
)

FORMAT = "accord-export/1"


def _doc(description: str) -> Meta:
    """A field's description, which the OpenAPI document shows."""
    return Meta(description=description)


class ExportedVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One version of an agreement's content: `GET /api/agreements/{id}/versions/{version}`."""

    version: int
    clauses: list[ClauseView]


class ExportedAgreement(msgspec.Struct, frozen=True, kw_only=True):
    """One agreement, as its reader may see it: what is not theirs to see is null (or empty)."""

    agreement_id: UUID
    relation: Annotated[
        Literal["party", "invited", "shared"],
        _doc(
            "`party`; `invited` (an open invitation); `shared` (a metamour, through a grant that holds)"
        ),
    ]
    party: Annotated[
        AgreementView | None,
        _doc("Parties only: the whole agreement, exactly `GET /api/agreements/{id}`"),
    ]
    shared: Annotated[
        SharedView | None,
        _doc(
            "Metamours only: what every party shares with them, exactly `GET /api/agreements/{id}` "
            "(with the history of the shared clauses when the grant includes `history`)"
        ),
    ]
    invitation: Annotated[
        InvitationView | None,
        _doc("Invitees only: `GET /api/agreements/{id}/invitation`"),
    ]
    timeline: Annotated[
        list[Entry] | None,
        _doc("Parties only: the whole history, `GET /api/agreements/{id}/timeline`"),
    ]
    versions: Annotated[
        list[ExportedVersion] | None,
        _doc("Parties only: every version of the content, oldest first"),
    ]
    grants: Annotated[
        list[GrantView] | None,
        _doc("Parties only: the sharing grants, `GET /api/agreements/{id}/grants`"),
    ]
    names: Annotated[
        dict[UUID, str],
        _doc(
            "Parties only (else empty): people the timeline mentions who are not parties now "
            "(someone invited, someone who left), by id, named as the reader may see them"
        ),
    ]


class Export(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one person may see in Accord, as of `exported_at`."""

    format: Annotated[
        Literal["accord-export/1"], _doc("This document's format and its version")
    ]
    exported_at: datetime
    account: Annotated[Me, _doc("Who I am: `GET /api/me`")]
    network: Annotated[
        NetworkView, _doc("My links and those shown to me: `GET /api/network`")
    ]
    agreements: Annotated[
        list[ExportedAgreement],
        _doc("Every agreement I may see, by id; one I may not see is not here at all"),
    ]
    check_ins: Annotated[
        list[CheckInView],
        _doc("Every check-in I take part in, exactly `GET /api/check-ins/{id}` (my own preparation included)"),
    ] = []
    documents: Annotated[
        list[ExportedDocument],
        _doc("My personal documents, and those shared with me that I see now"),
    ] = []
    signals: Annotated[
        SignalsView | None,
        _doc(
            "My signal channels, the signals I sent and received that have not expired, what stays of my expired"
            " ones, and my settings: exactly `GET /api/signals`"
        ),
    ] = None
    plans: Annotated[
        list[PlanView],
        _doc("Every plan I take part in, with its history: exactly `GET /api/plans`"),
    ] = []
    availability: Annotated[
        AvailabilityView | None,
        _doc("My time zone, what each partner sees of my time, my booking rules: exactly `GET /api/me/availability`"),
    ] = None
    calendar: Annotated[
        CalendarView | None,
        _doc(
            "My calendar from 60 days before the export to 400 after, busy time others show me included: exactly"
            " `GET /api/calendar` over that window"
        ),
    ] = None
    calendar_feed: Annotated[
        FeedView | None,
        _doc("Whether I have a calendar feed, and since when (never its address): exactly `GET /api/me/calendar-feed`"),
    ] = None


class ExportedDocument(msgspec.Struct, frozen=True, kw_only=True):
    """One personal document, as its reader may see it."""

    document: Annotated[DocumentView, _doc("Exactly `GET /api/documents/{id}`")]
    history: Annotated[
        list[VersionEntry] | None,
        _doc("The owner only: every version, newest first, `GET /api/documents/{id}/history`"),
    ]


class Exports:
    def __init__(
        self,
        queries: Queries,
        visibility: Visibility,
        person: Callable[[UUID], Awaitable[Account]],
        clock: Callable[[], datetime],
    ) -> None:
        self.queries = queries
        self.visibility = visibility
        self.person = person
        self.clock = clock

    async def export(self, caller: UUID) -> Export:
        account = await self.person(caller)
        agreements = []
        for summary in await self.queries.my_agreements(caller):
            if (
                found := await self._agreement(caller, summary.agreement_id)
            ) is not None:
                agreements.append(found)
        return Export(
            format=FORMAT,
            # Whole seconds: a moment of export, not a measurement.
            exported_at=self.clock().replace(microsecond=0),
            account=Me(
                person_id=account.person_id,
                handle=account.handle,
                display_name=account.display_name,
            ),
            network=await self.queries.network(caller),
            agreements=agreements,
            check_ins=[
                view
                for summary in await self.visibility.my_check_ins(caller)
                if (view := await self.visibility.check_in(caller, summary.check_in_id)) is not None
            ],
            documents=[await self._document(caller, view) for view in await self.visibility.my_documents(caller)],
            signals=await self.visibility.signal_views.signals(caller),
            plans=await self.visibility.my_plans(caller),
            availability=await self.visibility.availability_views.mine(caller),
            calendar=await self.visibility.calendar_views.around_today(caller),
            calendar_feed=await my_feed(self.visibility, caller),
        )

    async def _document(self, caller: UUID, view: DocumentView) -> ExportedDocument:
        found = await self.visibility.document_history(caller, view.document_id)
        return ExportedDocument(document=view, history=None if found is None else list(found))

    async def _agreement(
        self, caller: UUID, agreement_id: UUID
    ) -> ExportedAgreement | None:
        """One agreement as `caller` may see it, or None when they may not (any longer: a moment ago they could)."""
        try:
            view = await self.queries.view_agreement(caller, agreement_id)
            match view:
                case AgreementView():
                    return await self._as_party(caller, view)
                case AgreementSummary(relation="invited"):
                    invitation = await self.queries.invitation(caller, agreement_id)
                    return _exported(agreement_id, "invited", invitation=invitation)
                case SharedView(access="metamour"):
                    return _exported(agreement_id, "shared", shared=view)
        except NotFound:
            pass
        return None

    async def _as_party(self, caller: UUID, view: AgreementView) -> ExportedAgreement:
        agreement_id = view.agreement_id
        timeline = await self.queries.timeline(caller, agreement_id)
        names = await self.visibility.others_named(caller, timeline.entries, (p.person_id for p in view.parties))
        return _exported(
            agreement_id,
            "party",
            party=view,
            timeline=list(timeline.entries),
            versions=[
                ExportedVersion(version=version, clauses=clause_views(content))
                for version, content in sorted(timeline.versions.items())
            ],
            grants=await self.queries.grants(caller, agreement_id),
            names=names,
        )


def _exported(
    agreement_id: UUID,
    relation: Literal["party", "invited", "shared"],
    *,
    party: AgreementView | None = None,
    shared: SharedView | None = None,
    invitation: InvitationView | None = None,
    timeline: list[Entry] | None = None,
    versions: list[ExportedVersion] | None = None,
    grants: list[GrantView] | None = None,
    names: dict[UUID, str] | None = None,
) -> ExportedAgreement:
    return ExportedAgreement(
        agreement_id=agreement_id,
        relation=relation,
        party=party,
        shared=shared,
        invitation=invitation,
        timeline=timeline,
        versions=versions,
        grants=grants,
        names=names or {},
    )
