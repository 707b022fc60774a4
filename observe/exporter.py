"""Serving a host's metrics when several processes make them (prometheus_client's
multiprocess mode): Celery's prefork children, gunicorn's workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set before any process starts, every process writes its
values to files in that directory; :func:`registry` adds them up at scrape time. The
directory belongs to one service on one host and is emptied when that service starts
(:func:`prepare_directory`); a process that exits is marked dead (:func:`process_exited`) so
its live gauges stop counting.

:func:`serve` is the worker's HTTP endpoint: ``/metrics``, ``/healthz`` (the process answers)
and ``/readyz`` (the checks it is given: 200, or 503 with a JSON body naming what failed).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
Checks = Callable[[], dict[str, str]]  # name -> problem ("" when fine)


def multiprocess_dir() -> str:
    return os.environ.get(ENV, "")


def registry() -> CollectorRegistry:
    """What this host's processes measured: all of them (multiprocess mode) or this one."""
    if not multiprocess_dir():
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def render(*registries: CollectorRegistry) -> bytes:
    return b"".join(generate_latest(r) for r in registries)


def prepare_directory() -> None:
    """At a service's start, before it forks: no values of an earlier run may count again.
    Refuses to run without the directory (the children's metrics would be lost silently)."""
    path = multiprocess_dir()
    if not path:
        raise RuntimeError(f"{ENV} must be set for a multi-process service that serves metrics")
    Path(path).mkdir(parents=True, exist_ok=True)
    for stale in Path(path).glob("*.db"):
        stale.unlink()


def process_exited(pid: int) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def problems(checks: Checks) -> tuple[int, dict[str, Any]]:
    try:
        found = {name: problem for name, problem in checks().items() if problem}
    except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check, not a 500
        found = {"check": f"{type(exc).__name__}: {exc}"}
    if found:
        return 503, {"status": "unavailable", "failed": found}
    return 200, {"status": "ok"}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # a scrape every few seconds is not news


def _app(ready: Checks) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, ctype, status = render(registry()), CONTENT_TYPE_LATEST, 200
        elif path in ("/healthz", "/readyz"):
            status, answer = (200, {"status": "ok"}) if path == "/healthz" else problems(ready)
            body, ctype = json.dumps(answer).encode(), "application/json"
        else:
            body, ctype, status = b"not found\n", "text/plain", 404
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    return app


def serve(port: int, addr: str, ready: Checks) -> WSGIServer:
    """Serve /metrics, /healthz and /readyz on a daemon thread; returns the server (its
    ``server_port`` is the one bound when ``port`` is 0)."""
    server = make_server(addr, port, _app(ready), _Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("metrics and health served on http://%s:%d/metrics", addr, server.server_port)
    return server
