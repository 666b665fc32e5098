"""The network and layered consent: partner links, disclosure, sharing grants."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody

from domain.policy import GrantPreview, NetworkView
from service.commands.network import DisclosureState, LinkState, Proposed
from service.http.agreements import AgreementId
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import ProposeGrant, ProposeLink, SetDisclosure
from service.visibility import AudienceView, GrantView


class NetworkController(Controller):
    path = "/api"
    tags = ["network"]
    dependencies = {**CALLER, **KEY}

    @get("/network", summary="The people and links I may see", responses=READ)
    async def network(self, accord: AccordDep, caller: Caller) -> NetworkView:
        return await accord.queries.network(caller)

    @post(
        "/links",
        summary="Propose a partner link by handle; the answer is the same whether or not it exists",
        status_code=202,
        responses=COMMAND,
    )
    async def propose(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[ProposeLink]
    ) -> Response[Proposed]:
        return respond(await accord.network.propose_link(caller, data.handle, key))

    @post(
        "/links/{link_id:uuid}/confirm",
        summary="Confirm a link proposed to me",
        status_code=200,
        responses=COMMAND,
    )
    async def confirm(
        self, accord: AccordDep, caller: Caller, key: Key, link_id: FromPath[UUID]
    ) -> Response[LinkState]:
        return respond(await accord.network.confirm_link(caller, link_id, key))

    @post(
        "/links/{link_id:uuid}/decline",
        summary="Decline a link proposed to me",
        status_code=200,
        responses=COMMAND,
    )
    async def decline(
        self, accord: AccordDep, caller: Caller, key: Key, link_id: FromPath[UUID]
    ) -> Response[LinkState]:
        return respond(await accord.network.decline_link(caller, link_id, key))

    @post(
        "/links/{link_id:uuid}/withdraw",
        summary="Withdraw my unanswered proposal",
        status_code=200,
        responses=COMMAND,
    )
    async def withdraw(
        self, accord: AccordDep, caller: Caller, key: Key, link_id: FromPath[UUID]
    ) -> Response[LinkState]:
        return respond(await accord.network.withdraw_link(caller, link_id, key))

    @post(
        "/links/{link_id:uuid}/end",
        summary="End a live link; it stays in history",
        status_code=200,
        responses=COMMAND,
    )
    async def end(
        self, accord: AccordDep, caller: Caller, key: Key, link_id: FromPath[UUID]
    ) -> Response[LinkState]:
        return respond(await accord.network.end_link(caller, link_id, key))

    @put(
        "/disclosures/{audience_id:uuid}",
        summary="Choose whether my display name is shown to one person",
        responses=COMMAND,
    )
    async def disclose(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        audience_id: FromPath[UUID],
        data: JSONBody[SetDisclosure],
    ) -> Response[DisclosureState]:
        return respond(await accord.network.set_disclosure(caller, audience_id, data.disclosed, key))


class GrantController(Controller):
    path = "/api/agreements/{agreement_id:uuid}"
    tags = ["sharing"]
    dependencies = {**CALLER, **KEY}

    @get("/grants", summary="The agreement's sharing grants (parties only)", responses=READ)
    async def grants(self, accord: AccordDep, caller: Caller, agreement_id: AgreementId) -> list[GrantView]:
        return await accord.queries.grants(caller, agreement_id)

    @post(
        "/grants",
        summary="Propose sharing named scopes with one metamour; active once every party consents",
        status_code=201,
        responses=COMMAND,
    )
    async def propose(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        data: JSONBody[ProposeGrant],
    ) -> Response[GrantView]:
        outcome = await accord.grants.propose_grant(
            caller, agreement_id, data.audience, data.scopes, data.until, data.no_reshare, key
        )
        return respond(outcome)

    @post(
        "/grants/{grant_id:uuid}/consent",
        summary="Consent to a proposed grant",
        status_code=200,
        responses=COMMAND,
    )
    async def consent(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        grant_id: FromPath[UUID],
    ) -> Response[GrantView]:
        return respond(await accord.grants.consent_to_grant(caller, agreement_id, grant_id, key))

    @post(
        "/grants/{grant_id:uuid}/revoke",
        summary="Revoke a grant, at once and for good",
        status_code=200,
        responses=COMMAND,
    )
    async def revoke(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        grant_id: FromPath[UUID],
    ) -> Response[GrantView]:
        return respond(await accord.grants.revoke_grant(caller, agreement_id, grant_id, key))

    @get(
        "/clauses/{clause_id:uuid}/audience",
        summary="Who can see this clause, through which grant and which links (parties only)",
        responses=READ,
    )
    async def audience(
        self, accord: AccordDep, caller: Caller, agreement_id: AgreementId, clause_id: FromPath[UUID]
    ) -> list[AudienceView]:
        return await accord.queries.who_can_see(caller, agreement_id, clause_id)

    @get(
        "/grants/{grant_id:uuid}/preview",
        summary="See what they see: the agreement as this grant's audience sees it (parties only)",
        description=(
            "`view` is exactly what the audience gets from GET /api/agreements/{agreement_id}, built by the "
            "same view function with them as viewer, or null when they see nothing. For a grant not every "
            "party has consented to yet (`pending`), it is what they would see once everyone has, while "
            "they are a partner of a partner of one of the parties."
        ),
        responses=READ,
    )
    async def preview(
        self, accord: AccordDep, caller: Caller, agreement_id: AgreementId, grant_id: FromPath[UUID]
    ) -> GrantPreview:
        return await accord.queries.preview(caller, agreement_id, grant_id)
