"""Request ids, one structured log line per request, readiness and Prometheus metrics.

Bodies, tokens and passwords are never logged: a log line names the route
template (not the raw path, which holds ids), the status and the duration.
"""

from __future__ import annotations

import contextvars
import logging
import os
import time
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.exceptions import ServiceUnavailableException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
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


class RequestMetrics:
    """The request metrics (`accord_requests_total`, `accord_request_duration_seconds`,
    `accord_requests_in_progress`, `accord_requests_error_total`), labelled by method, route
    template, status and app name, with each label set's children looked up once."""

    APP = "accord"

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        labels = ("method", "path", "status_code", "app_name")
        self.total = Counter("accord_requests_total", "Total requests", labels, registry=registry)
        self.duration = Histogram(
            "accord_request_duration_seconds", "Request duration, in seconds", labels, registry=registry
        )
        self.in_progress = Gauge(
            "accord_requests_in_progress", "Total requests currently in progress", labels,
            multiprocess_mode="livesum", registry=registry,
        )
        self.errors = Counter("accord_requests_error_total", "Total errors in requests", labels, registry=registry)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._progress: dict[tuple[str, str], Any] = {}

    def started(self, method: str, path: str) -> Any:
        """The in-progress gauge of a route (labelled 200, as the requests it counts have no status yet)."""
        gauge = self._progress.get((method, path))
        if gauge is None:
            gauge = self._progress[(method, path)] = self.in_progress.labels(method, path, 200, self.APP)
        return gauge

    def finished(self, method: str, path: str, status: int, seconds: float) -> None:
        children = self._children.get((method, path, status))
        if children is None:
            children = self._children[(method, path, status)] = (
                self.total.labels(method, path, status, self.APP),
                self.duration.labels(method, path, status, self.APP),
            )
        children[0].inc()
        children[1].observe(seconds)
        if status >= 500:
            self.errors.labels(method, path, status, self.APP).inc()


_metrics: RequestMetrics | None = None


def request_metrics() -> RequestMetrics:
    """The process's request metrics, registered once (the registry refuses a name twice)."""
    global _metrics
    if _metrics is None:
        _metrics = RequestMetrics()
    return _metrics


def request_log(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a request id for every request, one log line for it, and its metrics.

    One wrapper does all three (each layer of middleware costs a call and a `send` wrapper per
    request): the route template names the route in both the log and the metrics.
    """
    metrics = request_metrics()
    info = log.info
    perf_counter = time.perf_counter
    new_id = os.urandom

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or new_id(16).hex()
        token = REQUEST_ID.set(request_id)
        method = scope["method"] if kind == "http" else "websocket"
        route = scope.get("path_template", "unmatched")
        started = perf_counter()
        status = 0
        #: Until the response's last body message (a socket has none: 0, as litestar's middleware counted it).
        duration = 0.0

        async def send_with_id(message: Message) -> None:
            nonlocal status, duration
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            elif kind == "http.response.body" and not message.get("more_body", False):
                duration = perf_counter() - started
            await send(message)

        progress = metrics.started(method, route)
        progress.inc()
        try:
            await app(scope, receive, send_with_id)
        finally:
            progress.dec()
            metrics.finished(method, route, status or 200, duration)
            info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method", "WS"),
                    "route": route,
                    "status": status,
                    "ms": round((perf_counter() - started) * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)

    return middleware


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    FIELDS = ("request_id", "method", "route", "status", "ms")
    encode = msgspec.json.Encoder().encode

    def __init__(self) -> None:
        super().__init__()
        #: The time field of the second being logged (a line per request: most share it).
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging names it so
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, super().formatTime(record, "%Y-%m-%dT%H:%M:%S"))
        return self._second[1]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        entry.update({f: getattr(record, f) for f in self.FIELDS[1:] if hasattr(record, f)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return self.encode(entry).decode()


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
