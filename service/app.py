"""create_app(settings): the one composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, ServiceUnavailableException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from service import web
from service.application import Accord
from service.http.accounts import AccountController
from service.http.agreements import AgreementController
from service.http.availability import AvailabilityController, PartnerRulesController
from service.http.blocks import BlockController
from service.http.checkins import CheckInController
from service.http.deps import DEPENDENCIES
from service.http.documents import DocumentController
from service.http.errors import HANDLERS, on_http
from service.http.export import ExportController
from service.http.health import HealthController
from service.http.inbox import InboxController
from service.http.live import live
from service.http.methods import head_and_allow
from service.http.network import GrantController, NetworkController
from service.http.observability import Metrics, Readiness, request_log
from service.http.plans import PlanController
from service.http.printing import AgreementExportController, DocumentExportController
from service.http.responses import POSITION
from service.http.security import PasskeySignInController, SecurityController
from service.http.signals import SignalController, SignalSettingsController
from service.http.templates import TemplateController
from service.http.wire import StrictSchemas
from service.settings import Settings
from service.store import connect


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    store = connect(settings.database_url, poll_interval=settings.poll_interval)
    accord = Accord(store, settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await accord.start()
        try:
            yield
        finally:
            await accord.stop()

    async def read_your_writes(request: Request) -> None:
        """A read naming a log position waits until this process's read models include it."""
        wanted = request.headers.get(POSITION, "")
        # Only what a command's Accord-Position could be (`isdigit` alone takes "²", which `int` refuses).
        if request.method == "GET" and wanted.isascii() and wanted.isdigit() and len(wanted) <= 18:
            if not await accord.caught_up(int(wanted)):
                raise ServiceUnavailableException(
                    "this server has not caught up with that position yet; retry",
                    headers={"Retry-After": "1"},
                )

    app = Litestar(
        before_request=read_your_writes,
        route_handlers=[
            HealthController,
            Readiness,
            Metrics,
            AccountController,
            SecurityController,
            PasskeySignInController,
            AgreementController,
            ExportController,
            NetworkController,
            GrantController,
            AgreementExportController,
            DocumentExportController,
            InboxController,
            TemplateController,
            CheckInController,
            DocumentController,
            SignalController,
            SignalSettingsController,
            BlockController,
            AvailabilityController,
            PartnerRulesController,
            PlanController,
            live,
            # The browser app (service/web): pages, templates and static files.
            *web.routers(),
        ],
        template_config=web.templates(),
        plugins=[StrictSchemas()],
        dependencies=DEPENDENCIES,
        middleware=[request_log],
        exception_handlers={**HANDLERS, HTTPException: _unrouted},
        lifespan=[lifespan],
        state=_state(accord),
        request_max_body_size=settings.max_body_bytes,
        # Logging is configured by `accord serve` (JSON lines); the app adds no handlers.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Accord",
            version="0.1.0",
            description="Relationship agreements for polyamorous networks: co-edited, consented, event-sourced.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
    )
    # Before routing, where litestar puts its own CORS handling: HEAD wherever GET is, and a true Allow.
    app.asgi_handler = head_and_allow(app.asgi_handler)
    return app


def _unrouted(request: Request, error: HTTPException) -> Response:
    """Errors no router handled: routing's 404 and 405 on a page address get the HTML page."""
    return web.on_unrouted(request, error) or on_http(request, error)


def _state(accord: Accord):
    from litestar.datastructures import State

    return State({"accord": accord})
