"""Request ids, one structured log line per request, readiness and Prometheus metrics.

Bodies, tokens and passwords are never logged: a log line names the route
template (not the raw path, which holds ids), the status and the duration.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.exceptions import ServiceUnavailableException
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from service.application import Accord
from service.http.deps import AccordDep
from service.http.responses import _problem

log = logging.getLogger("accord.access")

REQUEST_ID = contextvars.ContextVar("request_id", default="-")
_VALID_ID = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if 0 < len(candidate) <= 64 and set(candidate) <= _VALID_ID:
                return candidate
    return None


def request_log(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a request id for every request, and one log line for it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method", "WS"),
                    "route": scope.get("path_template", "unmatched"),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)

    return middleware


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    FIELDS = ("request_id", "method", "route", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        entry.update({f: getattr(record, f) for f in self.FIELDS[1:] if hasattr(record, f)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class AccordCollector:
    """Accord's own metrics, read from the application at scrape time."""

    def __init__(self, accord: Accord) -> None:
        self.accord = accord

    def collect(self):  # noqa: ANN201 - the prometheus_client collector protocol
        accord = self.accord
        yield CounterMetricFamily(
            "accord_commands_appended", "Commands whose events were appended", value=accord.commands.appended
        )
        yield GaugeMetricFamily(
            "accord_follower_lag_positions", "Log positions not yet folded by this process",
            value=accord.lag.positions,
        )
        yield GaugeMetricFamily(
            "accord_follower_lag_seconds", "Seconds since this process's follower was last caught up",
            value=accord.lag.seconds(),
        )
        yield GaugeMetricFamily(
            "accord_websockets_open", "Open websocket connections", value=accord.hub.open_sockets
        )
        yield GaugeMetricFamily(
            "accord_leader", "1 while this process projects and schedules for the database", value=accord.leader.leading
        )
        yield CounterMetricFamily(
            "accord_projector_events", "Events this process's projector folded into the projections",
            value=accord.projector.folded,
        )
        yield CounterMetricFamily(
            "accord_follower_events", "Events this process's follower took into account (caches and pushes)",
            value=accord.follower.followed,
        )
        yield GaugeMetricFamily("accord_tracked_people", "People whose live views this process tracks", value=len(accord.hub.shown))
        yield CounterMetricFamily("accord_pushes_sent", "Updates queued to websockets", value=accord.hub.pushed)
        yield CounterMetricFamily(
            "accord_pushes_dropped", "Updates not delivered because a client fell behind",
            value=accord.hub.dropped,
        )


class Ready(msgspec.Struct):
    status: str
    position: int


NOT_READY = {
    503: _problem(
        "The database is unreachable, this process's follower is catching up, or it has not caught up "
        "with the `Accord-Position` named; retry after Retry-After"
    )
}
RETRY = {"Retry-After": "1"}


class Readiness(Controller):
    path = "/health"
    tags = ["service"]

    @get("/ready", summary="Ready: the database answers and this process's follower is caught up", responses=NOT_READY)
    async def ready(self, accord: AccordDep) -> Ready:
        try:
            await accord.lag.refresh()
        except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
            raise ServiceUnavailableException("the database is unreachable", headers=RETRY) from None
        if not accord.ready or accord.lag.positions > accord.settings.ready_lag:
            raise ServiceUnavailableException("the log follower is catching up", headers=RETRY)
        return Ready(status="ready", position=accord.position)


class Metrics(Controller):
    path = "/metrics"
    tags = ["service"]
    include_in_schema = False

    @get("/", media_type="text/plain; version=0.0.4")
    async def metrics(self, accord: AccordDep) -> bytes:
        try:
            await accord.lag.refresh()
        except Exception:  # noqa: BLE001 - metrics still answer while the database is down
            pass
        own = CollectorRegistry(auto_describe=False)
        own.register(AccordCollector(accord))
        return generate_latest(REGISTRY) + generate_latest(own)
