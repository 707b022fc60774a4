"""The operator's endpoints and the request's log context, in the first middleware.

``/healthz`` (the process answers; no dependency), ``/readyz`` (the database and the broker:
200, or 503 with a JSON body naming what failed, and why to /metrics' clients only) and
``/metrics`` (grader.metrics) are answered before any other middleware: a load balancer or
Prometheus calls them by the instance's address (not an allowed host) over plain HTTP (no HTTPS
redirect), and they need no session, user or CSRF work.

Every other request gets an id — the caller's ``X-Request-ID`` when it is a sane one (a proxy
or load balancer that sets it ties its logs to ours), else a new one — bound to every log line
of the request (observe.logs) with the course and the submission from the URL, and sent back
in the ``X-Request-ID`` response header. Cost per request: a dict lookup, a regex match and two
context-variable writes.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from grader.metrics import allowed as metrics_allowed
from grader.metrics import metrics_view
from grading import health
from observe import exporter, logs

log = logging.getLogger(__name__)
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


def readyz(request: HttpRequest) -> HttpResponse:
    """What failed, to anyone (a load balancer needs the status); why, only to the clients
    allowed to read /metrics: the reasons name internal hosts, ports and database users."""
    status, answer = exporter.problems(health.web)
    if status != 200 and not metrics_allowed(request):
        log.warning("not ready: %s", answer["failed"])
        answer = {"status": answer["status"], "failed": sorted(answer["failed"])}
    return HttpResponse(json.dumps(answer), status=status, content_type="application/json")


ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_view,
}


def request_id(sent: str | None) -> str:
    return sent if sent and REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is not None:
            return endpoint(request)
        rid = request_id(request.META.get("HTTP_X_REQUEST_ID"))
        token = logs.bind(request_id=rid)
        try:
            response = self.get_response(request)
        finally:
            logs.reset(token)  # also drops what process_view bound
        response["X-Request-ID"] = rid
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]) -> None:
        course = kwargs.get("course_code") or kwargs.get("course")  # pages' and the API's name
        if course or "submission_id" in kwargs:
            logs.bind(course=course, submission_id=kwargs.get("submission_id"))
