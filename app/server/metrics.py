"""Readiness and Prometheus metrics of the district server (issue 18).

``GET /metrics`` answers in Prometheus' text format:

- ``onedesk_http_requests_total{method, route, status}`` — every answer, 4xx and 5xx included;
- ``onedesk_http_request_duration_seconds{method, route}`` — a histogram from the request's arrival to the
  answer's last byte; the push, pull and snapshot latencies are its ``/v1/push``, ``/v1/pull``,
  ``/v1/snapshot/start`` and ``/v1/snapshot`` series;
- ``onedesk_push_commands_total{status, duplicate}`` — the outcome of every pushed command as the push answered
  it: applied, set aside or held (``duplicate="true"``: pushed before, answered from the stored outcome);
- ``onedesk_http_requests_in_flight`` — the queue depth: requests received and not yet answered, whether
  running or waiting for a thread, a database connection or a change-log stream's lock;
- ``onedesk_held_commands`` and ``onedesk_database_up`` — read from the database at each scrape;
- ``onedesk_worker_requests`` — answers by this process; with several workers one series per live worker
  (label ``pid``), present from its start: how many workers serve.

Labels hold route templates (``/v/{case_number}``, ``/v1/files/{sha256}``), never the path a request named, and
nothing a request carried: no case number, sha256, token or resident's detail can reach the metrics.
``GET /v1/ready`` says whether the database answers (200, else 503), never why not.

One process: the metrics live in the application's own registry. Several (``server --workers N``,
app/server/workers.py): prometheus_client's multiprocess mode — every process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR``, and whichever worker answers a scrape adds all the files up.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.wire import Endpoint, PushResponse, Readiness, ResultStatus
from app.server.db import ServerDB
from app.server.workers import MULTIPROC_ENV
from models.server import HeldCommand

UNMATCHED = "unmatched"  # the route label of a path no route answers: the path itself is never a label
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# From a health check to a 500-command push or a page of a large committee's snapshot on a slow disk.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class ServerMetrics:
    """The metrics of one application (its own registry: tests build many applications in one process)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        if multiprocess_dir() is None:  # the process' CPU, memory and files; not collectable across processes
            ProcessCollector(registry=r)
        self.requests = Counter("onedesk_http_requests", "Requests answered, by route template and status",
                                ["method", "route", "status"], registry=r)
        self.duration = Histogram("onedesk_http_request_duration_seconds",
                                  "Time from a request's arrival to its answer's last byte, by route template",
                                  ["method", "route"], buckets=BUCKETS, registry=r)
        self.in_flight = Gauge("onedesk_http_requests_in_flight",
                               "Requests received and not yet answered (running or waiting): the queue depth",
                               registry=r, multiprocess_mode="livesum")
        self.worker_requests = Gauge("onedesk_worker_requests", "Requests this worker process has answered",
                                     registry=r, multiprocess_mode="liveall")
        self.commands = Counter("onedesk_push_commands", "Pushed commands by the outcome the push answered",
                                ["status", "duplicate"], registry=r)
        for status in ResultStatus:  # present from the start, so a rate over them is defined
            self.commands.labels(status.value, "false")

    def count_push(self, answer: PushResponse) -> None:
        for result in answer.results:
            self.commands.labels(result.status.value, "true" if result.duplicate else "false").inc()

    def exposition(self, db: ServerDB | None, accept: str) -> tuple[bytes, str]:
        """(body, content type) of a scrape: every worker's metrics (or this process's), then the database's, in
        the format ``accept`` asks for (Prometheus' text format unless it asks for OpenMetrics)."""
        scraped = CollectorRegistry()
        path = multiprocess_dir()
        if path is None:
            scraped.register(self.registry)
        else:
            multiprocess.MultiProcessCollector(scraped, path=path)
        scraped.register(_DatabaseCollector(db))
        encoder, content_type = choose_encoder(accept)
        return encoder(scraped), content_type


def database_answers(db: ServerDB | None) -> bool:
    if db is None:
        return False
    try:
        with db.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


class _DatabaseCollector:
    """What is read from the database at scrape time, by the one process answering it."""

    def __init__(self, db: ServerDB | None):
        self.db = db

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("onedesk_database_up", "1 when the server database answered this scrape, else 0")
        held = GaugeMetricFamily("onedesk_held_commands",
                                 "Commands waiting for the command they were made after (app/server/held.py)")
        count = None
        if self.db is not None:
            try:
                with self.db.read_sessions() as s:
                    count = s.scalar(select(func.count()).select_from(HeldCommand))
            except SQLAlchemyError:
                count = None
        up.add_metric([], 0 if count is None else 1)
        yield up
        if count is not None:
            held.add_metric([], count)
            yield held


def worker_stopped() -> None:
    """A worker process's shutdown: its live gauges leave the shared folder (its counters stay in the sums)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), path)


# ----- the middleware ----------------------------------------------------------------------------------------------
def route_template(scope: Scope, router: Router) -> str:
    """The template of the route that answered (or would have: a body refused before routing), else UNMATCHED."""
    route = scope.get("route")
    if route is None:
        route = _matching(scope, router.routes)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _matching(scope: Scope, routes: list[BaseRoute]) -> BaseRoute | None:
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:  # the path, another method (405)
            partial = route
    return partial


class RequestMetrics:
    """ASGI middleware around the whole application: counts and times every HTTP request by route template."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics, router: Router):
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes: the server's error middleware answers 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        m = self.metrics
        m.in_flight.inc()
        try:
            await self.app(scope, receive, sending)
        finally:
            m.in_flight.dec()
            method = scope.get("method", "")
            method = method if method in METHODS else "OTHER"
            route = route_template(scope, self.router)
            m.requests.labels(method, route, str(status)).inc()
            m.duration.labels(method, route).observe(time.perf_counter() - started)
            m.worker_requests.inc()


# ----- the routes ----------------------------------------------------------------------------------------------------
def metrics_text(request: Request) -> Response:
    metrics: ServerMetrics = request.app.state.metrics
    body, content_type = metrics.exposition(request.app.state.db, request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type})


def ready(request: Request) -> Readiness | JSONResponse:
    now: dt.datetime = request.app.state.clock()
    if database_answers(request.app.state.db):
        return Readiness(server_time=now)
    answer = Readiness(server_time=now, status="unavailable", database="unreachable")
    return JSONResponse(answer.model_dump(mode="json"), status_code=503)


def install(app: FastAPI) -> ServerMetrics:
    """Count every request of ``app`` (outermost of its middlewares) and serve ``/metrics`` and ``/v1/ready``."""
    metrics = app.state.metrics = ServerMetrics()
    app.add_middleware(RequestMetrics, metrics=metrics, router=app.router)
    app.add_api_route(Endpoint.METRICS, metrics_text, methods=["GET"], include_in_schema=False)
    app.add_api_route(Endpoint.READY, ready, methods=["GET"], response_model=Readiness,
                      responses={503: {"model": Readiness}}, tags=["status"])
    return metrics
